"""An upload's life through the API: listed (to find one to resume), created, read with the
parts S3 holds, completed, aborted."""

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from uploads.api import services
from uploads.api.base import PurposeField, StrictFilters, UploadApiView, errors
from uploads.api.tracking import progress_of
from uploads.core.models import FINAL_STATES, Upload, UploadState
from uploads.core.plan import MAX_PARTS, MAX_S3_OBJECT_SIZE
from uploads.core.selectors import uploads_for_user

# A name with something in it besides spaces and control characters.
VISIBLE_NAME = RegexValidator(r"[^\x00-\x20\x7f]", "The file needs a name.")


class UploadOutput(serializers.ModelSerializer):
    sha256 = serializers.CharField(
        read_only=True,
        help_text="The whole file's SHA-256 (hex). The worker reads the object back for it after "
        "the upload is ready, so it is empty until then: see `sha256_pending`.",
    )
    sha256_pending = serializers.BooleanField(
        read_only=True,
        help_text="True while `sha256` is still to come: the upload is open, or ready and its "
        "SHA-256 being computed. False once it is known, and for an upload that ended otherwise.",
    )

    class Meta:
        model = Upload
        fields = [
            "id",
            "state",
            "purpose",
            "filename",
            "key",
            "size",
            "content_type",
            "part_size",
            "part_count",
            "created_at",
            "expires_at",
            "completing_at",
            "processing_at",
            "ready_at",
            "failed_at",
            "aborted_at",
            "expired_at",
            "sha256",
            "sha256_pending",
            "error",
            "result",
            "parts_retried",
            "resumed",
        ]


class HeldPartOutput(serializers.Serializer):
    part_number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()
    checksum_sha256 = serializers.CharField()
    verified = serializers.BooleanField()


class UploadsApi(UploadApiView):
    """``GET``: the caller's uploads (to find one to resume). ``POST``: start an upload."""

    throttle_scopes = {"GET": "upload_read", "POST": "upload_create"}

    class ListFilters(StrictFilters):
        state = serializers.ChoiceField(choices=UploadState.choices, required=False)
        purpose = PurposeField(required=False)
        filename = serializers.CharField(required=False, max_length=1024)
        size = serializers.IntegerField(required=False, min_value=0, max_value=MAX_S3_OBJECT_SIZE)

    class CreateInput(serializers.Serializer):
        filename = serializers.CharField(
            max_length=1024, min_length=1, trim_whitespace=False, validators=[VISIBLE_NAME]
        )
        size = serializers.IntegerField(min_value=1, max_value=MAX_S3_OBJECT_SIZE)
        content_type = serializers.CharField(
            max_length=255, required=False, allow_blank=True, default="application/octet-stream"
        )
        purpose = PurposeField()
        round_trip_ms = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=60_000,
            help_text="Optional: the client's round trip to this site in milliseconds, as it "
            "measured it. The farther the client, the larger the parts planned (up to 128 MiB, "
            "and at least 6 parts), so that each part's round trips cost a distant link little.",
        )

    @extend_schema(
        parameters=[ListFilters], responses={200: UploadOutput(many=True), **errors(400)}
    )
    def get(self, request):
        filters = self.ListFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        uploads = uploads_for_user(request.user, **filters.validated_data)[:100]
        return Response(UploadOutput(uploads, many=True).data)

    @extend_schema(
        request=CreateInput,
        responses={201: UploadOutput, **errors(400, 413, 415, 503)},
        description=(
            "413 when the file is larger than its purpose allows, when the body is too large, "
            "or when the file would pass the user's quota (finished and unfinished uploads "
            "together); the sentence says how much is used and allowed."
        ),
    )
    def post(self, request):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = services.upload_create(owner=request.user, **data.validated_data)
        return Response(UploadOutput(upload).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(UploadApiView):
    """``GET``: the upload, with the parts S3 holds (for resume). ``DELETE``: abort it."""

    throttle_scopes = {"GET": "upload_read", "DELETE": "upload_write"}

    class DetailOutput(UploadOutput):
        uploaded_parts = serializers.SerializerMethodField()
        progress = serializers.SerializerMethodField()

        class Meta(UploadOutput.Meta):
            fields = UploadOutput.Meta.fields + ["uploaded_parts", "progress"]

        def get_uploaded_parts(self, upload) -> list[dict]:
            if upload.state != UploadState.UPLOADING:
                return []
            return [
                {**HeldPartOutput(part).data, "verified": part.verified}
                for part in services.held_parts(upload, recent=True)
            ]

        def get_progress(self, upload) -> dict:
            return progress_of(upload)

    @extend_schema(responses={200: DetailOutput, **errors(404, 503)})
    def get(self, request, pk):
        return Response(self.DetailOutput(self.get_upload(pk)).data)

    @extend_schema(
        responses={204: None, **errors(404, 409)},
        description=(
            "Cancels an upload that is still uploading: S3 drops its parts (AbortMultipartUpload). "
            "The upload is not erased: afterwards GET answers it with state `aborted`, `parts/` "
            "and `complete/` answer 409, and DELETE again answers 204. An upload past uploading "
            "(completing, processing, ready, failed, expired) cannot be cancelled: 409."
        ),
    )
    def delete(self, request, pk):
        services.upload_abort(upload=self.get_upload(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadCompleteApi(UploadApiView):
    """``POST``: S3 is asked which parts arrived; if all did, the object is completed."""

    throttle_scopes = {"POST": "upload_write"}

    class CompleteInput(serializers.Serializer):
        class ClientPart(serializers.Serializer):
            part_number = serializers.IntegerField(min_value=1, max_value=MAX_PARTS)
            etag = serializers.CharField(max_length=100)

        parts = ClientPart(many=True, required=False, max_length=MAX_PARTS)
        parts_retried = serializers.IntegerField(
            min_value=0,
            max_value=services.MAX_PARTS_RETRIED,
            required=False,
            help_text="Optional: part transfers this run sent again (as in progress reports).",
        )
        resumed = serializers.BooleanField(
            required=False, help_text="Optional: this run carried on an unfinished upload."
        )

    @extend_schema(
        request=CompleteInput,
        responses={200: UploadOutput, 202: UploadOutput, **errors(400, 404, 409, 413, 415, 503)},
    )
    def post(self, request, pk):
        upload = self.get_upload(pk)
        data = self.CompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        client_etags = {p["part_number"]: p["etag"] for p in given.get("parts", [])}
        upload = services.upload_complete(
            upload=upload,
            client_etags=client_etags,
            parts_retried=given.get("parts_retried"),
            resumed=given.get("resumed"),
        )
        final = upload.state in FINAL_STATES
        return Response(
            UploadOutput(upload).data,
            status=status.HTTP_200_OK if final else status.HTTP_202_ACCEPTED,
        )
