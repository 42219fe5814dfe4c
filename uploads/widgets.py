from django import forms


class UploadWidget(forms.TextInput):
    """A hidden input holding the upload id, plus the uploader that fills it in.

    The browser uploader (frontend/) finds ``data-s7-upload`` inputs and mounts itself beside
    them; without JavaScript the field stays a plain input for an upload id.
    """

    input_type = "hidden"
    purpose = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update({"data-s7-upload": "", "data-purpose": self.purpose})
        return context
