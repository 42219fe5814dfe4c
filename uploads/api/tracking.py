"""Where an upload is: the uploader's progress reports and the progress record it reads back."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from uploads.api import services
from uploads.api.base import UploadApiView, errors
from uploads.core import progress
from uploads.core.models import Upload, UploadState
from uploads.core.plan import MAX_S3_OBJECT_SIZE


def progress_of(upload: Upload) -> dict:
    record = progress.read(upload.pk)
    # Once S3 has completed the object every byte has arrived, whatever the last report said.
    completed = upload.state in (UploadState.PROCESSING, UploadState.READY, UploadState.FAILED)
    sent = upload.size if completed else int(record.get("bytes_uploaded", 0))
    sent = max(0, min(sent, upload.size))
    return {
        "state": upload.state,
        "stage": record.get("stage") or upload.state,
        "bytes_uploaded": sent,
        "size": upload.size,
        "percent": round(100 * sent / upload.size, 1) if upload.size else 0.0,
        "updated_at": record.get("updated_at"),
    }


class UploadProgressApi(UploadApiView):
    """``POST``: the uploader reports bytes sent (cache only). ``GET``: the progress record."""

    throttle_scopes = {"GET": "upload_read", "POST": "upload_write"}

    class ReportInput(serializers.Serializer):
        bytes_uploaded = serializers.IntegerField(min_value=0, max_value=MAX_S3_OBJECT_SIZE)
        parts_retried = serializers.IntegerField(
            min_value=0,
            max_value=services.MAX_PARTS_RETRIED,
            required=False,
            help_text="Optional: part transfers this run of the client has sent again so far "
            "(network errors, 5xx, expired URLs), a running total. Kept for the upload's "
            "analytics.",
        )
        resumed = serializers.BooleanField(
            required=False,
            help_text="Optional: true when this run carries on an upload an earlier run left "
            "unfinished.",
        )

    class ProgressOutput(serializers.Serializer):
        state = serializers.CharField()
        stage = serializers.CharField()
        bytes_uploaded = serializers.IntegerField()
        size = serializers.IntegerField()
        percent = serializers.FloatField()
        updated_at = serializers.CharField(allow_null=True)

    @extend_schema(responses={200: ProgressOutput, **errors(404)})
    def get(self, request, pk):
        return Response(progress_of(self.get_upload(pk)))

    @extend_schema(request=ReportInput, responses={204: None, **errors(400, 404, 413, 415)})
    def post(self, request, pk):
        upload = self.get_upload(pk)
        data = self.ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.upload_report_progress(upload=upload, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
