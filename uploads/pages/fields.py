"""A form field whose value is one of the user's ready uploads, chosen by its id.

The widget renders the browser uploader; the form submits only the upload's id. A form using
the field must tell it who is submitting (``UploadFormMixin`` does), since an upload is its
owner's alone.
"""

import uuid

from django import forms

from uploads.core.models import Upload, UploadState
from uploads.pages.widgets import UploadWidget


class UploadField(forms.Field):
    """One upload, or with ``multiple=True`` a list of them in the order given (ids separated by
    commas; the uploader then takes many files at once)."""

    widget = UploadWidget
    default_error_messages = {
        "invalid": "That is not an upload.",
        "not_found": "That upload does not exist or is not yours.",
        "wrong_purpose": "That upload is not a %(purpose)s.",
        "not_ready": "That upload is %(state)s, not ready yet.",
        "twice": "The same upload is chosen twice.",
        "too_many": "At most %(limit)s uploads at once.",
    }
    max_uploads = 100

    def __init__(self, *, purpose: str, multiple: bool = False, **kwargs):
        self.purpose = purpose
        self.multiple = multiple
        self.user = None
        super().__init__(**kwargs)
        self.widget.purpose = purpose
        self.widget.multiple = multiple

    def to_python(self, value):
        if not self.multiple:
            return self._one(value)
        if value in self.empty_values:
            return []
        if isinstance(value, list | tuple):
            ids = list(value)
        else:
            ids = [part.strip() for part in str(value).split(",") if part.strip()]
        if len(ids) > self.max_uploads:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": self.max_uploads}
            )
        uploads = [self._one(upload_id) for upload_id in ids]
        if len({upload.pk for upload in uploads}) != len(uploads):
            raise forms.ValidationError(self.error_messages["twice"], code="twice")
        return uploads

    def _one(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Upload):
            return value
        try:
            upload_id = uuid.UUID(str(value))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        user = self.user
        if user is None or not user.is_authenticated:
            raise forms.ValidationError(self.error_messages["not_found"], code="not_found")
        upload = Upload.objects.filter(pk=upload_id, owner=user).first()
        if upload is None:
            raise forms.ValidationError(self.error_messages["not_found"], code="not_found")
        if upload.purpose != self.purpose:
            raise forms.ValidationError(
                self.error_messages["wrong_purpose"],
                code="wrong_purpose",
                params={"purpose": self.purpose.replace("_", " ")},
            )
        if upload.state != UploadState.READY:
            raise forms.ValidationError(
                self.error_messages["not_ready"], code="not_ready", params={"state": upload.state}
            )
        return upload

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ",".join(str(self.prepare_value(one)) for one in value)
        return str(value.pk) if isinstance(value, Upload) else value


class UploadFormMixin:
    """Pass ``user=request.user`` to the form; every UploadField then checks ownership.

    Fields added after ``__init__`` (forms that build their fields) get the user when the form
    is cleaned.
    """

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self._give_upload_fields_the_user()

    def full_clean(self):
        self._give_upload_fields_the_user()
        super().full_clean()

    def _give_upload_fields_the_user(self):
        for field in self.fields.values():
            if isinstance(field, UploadField):
                field.user = self.user
