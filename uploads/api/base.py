"""What every upload API view shares: JSON only, a throttle scope per method, the engine's
errors as answers, the caller's own uploads only, and the documented error bodies."""

from django.http import Http404
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads.api.limits import LimitedJSONParser
from uploads.api.throttling import UploadThrottle
from uploads.core import purposes
from uploads.core.errors import UploadError
from uploads.core.models import Upload
from uploads.core.selectors import uploads_for_user


class ErrorOutput(serializers.Serializer):
    # A request that broke field rules gets sentences per field instead of ``detail``.
    detail = serializers.CharField(required=False, help_text="A sentence for the uploader.")


def errors(*statuses: int) -> dict:
    """The error answers an operation documents, beside the ones every operation may give."""
    return {code: ErrorOutput for code in (401, 429, *statuses)}


class StrictFilters(serializers.Serializer):
    """Query filters where a blank value is refused rather than ignored: ``?size=`` is a
    mistake, not "any size"."""

    def to_internal_value(self, data):
        blank = [name for name in self.fields if name in data and data.get(name) == ""]
        if blank:
            raise serializers.ValidationError({name: ["May not be blank."] for name in blank})
        return super().to_internal_value(data)


class PurposeField(serializers.ChoiceField):
    """One of the registered purposes, read when the serializer is made (sites register
    theirs when their app is ready)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": 'Unknown purpose "{input}".'})
        super().__init__(choices=[], **kwargs)
        self.choices = [purpose.name for purpose in purposes.all_purposes()]


class UploadApiView(APIView):
    # The API speaks JSON only: a form or multipart body answers 415.
    parser_classes = [LimitedJSONParser]
    # Every method is throttled per user; the scopes' rates are REST_FRAMEWORK's, else the engine's.
    throttle_scopes: dict[str, str] = {"GET": "upload_read"}

    def get_throttles(self):
        scope = self.throttle_scopes.get(self.request.method)
        if scope is None:
            return []
        self.throttle_scope = scope
        return [UploadThrottle()]

    def handle_exception(self, exc):
        if isinstance(exc, UploadError):
            return Response(exc.as_dict(), status=exc.status)
        return super().handle_exception(exc)

    def get_upload(self, pk) -> Upload:
        upload = uploads_for_user(self.request.user, pk=pk).first()
        if upload is None:
            raise Http404
        return upload
