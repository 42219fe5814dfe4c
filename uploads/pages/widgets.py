import uuid

from django import forms
from django.templatetags.static import static
from django.urls import reverse

from uploads.core import purposes

# The uploader puts an upload's id where this one stands in the preview's URL.
PLACEHOLDER_ID = uuid.UUID(int=0)


class UploadWidget(forms.TextInput):
    """A hidden input holding the upload id, plus the uploader that fills it in.

    The browser uploader (frontend/, built into static/uploads/) finds ``data-s7-upload`` inputs
    and mounts itself beside them; without JavaScript the field stays a plain input for an
    upload id. Pages render ``{{ form.media }}`` to load it.
    """

    input_type = "hidden"
    purpose = ""
    # Many files at once: the uploader then submits the field's form on its own for each file,
    # with that file's upload id, as soon as it is ready and in the order the files were added.
    multiple = False

    class Media:
        css = {"all": ["uploads/uploader.css"]}
        js = ["uploads/uploader.js"]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        attrs = {
            "data-s7-upload": "",
            "data-purpose": self.purpose,
            "data-api": reverse("uploads:uploads"),
            # Hashing runs in a Web Worker; its script's URL is hashed by collectstatic.
            "data-s7-hash-worker": static("uploads/hash-worker.js"),
        }
        # Once ready, an image upload is previewed by its purpose's first (smallest) rendition.
        renditions = purposes.get(self.purpose).renditions
        if renditions:
            attrs["data-preview-rendition"] = renditions[0].name
            attrs["data-preview-url"] = reverse(
                "upload-pages:rendition", kwargs={"pk": PLACEHOLDER_ID, "name": renditions[0].name}
            )
        if self.multiple:
            attrs["data-multiple"] = ""
        context["widget"]["attrs"].update(attrs)
        return context
