"""Project-wide answers."""

from django.http import JsonResponse
from django.views.defaults import page_not_found


def not_found(request, exception):
    """The API answers in JSON even for a URL that matches no route (an id of the wrong form);
    pages get the site's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
