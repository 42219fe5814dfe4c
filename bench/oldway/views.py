"""How a file reached S3 before S7: through the web worker.

Django's upload handlers spool the multipart body to a temporary file, then django-storages
copies it to S3. Every byte passes through the web process, for as long as the transfer takes.
"""

import uuid

from django.core.files.storage import default_storage
from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def upload(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    uploaded = request.FILES["file"]
    key = default_storage.save(f"oldway/{uuid.uuid4()}/{uploaded.name}", uploaded)
    return JsonResponse({"key": key, "size": uploaded.size})
