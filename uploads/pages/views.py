from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from uploads.conf import settings
from uploads.core import purposes
from uploads.core.models import UploadState
from uploads.core.selectors import uploads_for_user
from uploads.pages.fields import UploadField, UploadFormMixin


class DemoForm(UploadFormMixin, forms.Form):
    """One upload field per registered purpose: the uploader as a site's form would use it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for purpose in purposes.all_purposes():
            self.fields[purpose.name] = UploadField(
                purpose=purpose.name, required=False, help_text=purpose.description
            )


@login_required
def demo(request):
    form = DemoForm(request.POST or None, user=request.user)
    received = None
    if request.method == "POST" and form.is_valid():
        received = [upload for upload in form.cleaned_data.values() if upload is not None]
    # The page wears the host site's layout when it names one (S7: items/base.html).
    base_template = settings.UPLOADS_BASE_TEMPLATE
    return render(
        request,
        "uploads/demo.html",
        {"form": form, "received": received, "base_template": base_template},
    )


@login_required
def rendition(request, pk, name):
    """A short-lived link to one of the owner's renditions (the thumbnail after an upload)."""
    upload = uploads_for_user(request.user, pk=pk, state=UploadState.READY).first()
    url = upload.rendition_url(name) if upload else None
    if url is None:
        raise Http404
    return redirect(url)
