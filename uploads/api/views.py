"""The upload API: one class per URL, one method per operation, each with its own serializers.

Views parse input, call a service, and render; the rules live in ``uploads.api.services``.
"""

import re
from datetime import timedelta

from django.core.validators import RegexValidator
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads.api import services
from uploads.api.limits import LimitedJSONParser
from uploads.api.throttling import UploadThrottle
from uploads.conf import settings
from uploads.core import progress, purposes
from uploads.core.errors import UploadError
from uploads.core.models import FINAL_STATES, Upload, UploadState
from uploads.core.plan import MAX_PARTS, MAX_S3_OBJECT_SIZE
from uploads.core.progress import UploadStage
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


BASE64_SHA256 = RegexValidator(r"^[A-Za-z0-9+/]{43}=$", "The base64 of a 32-byte SHA-256 digest.")
BASE64_MD5 = RegexValidator(r"^[A-Za-z0-9+/]{22}==$", "The base64 of a 16-byte MD5 digest.")
# A name with something in it besides spaces and control characters.
VISIBLE_NAME = RegexValidator(r"[^\x00-\x20\x7f]", "The file needs a name.")


class PartInput(serializers.Serializer):
    part_number = serializers.IntegerField(min_value=1, max_value=MAX_PARTS)
    checksum_sha256 = serializers.CharField(
        min_length=44, max_length=44, validators=[BASE64_SHA256]
    )
    content_md5 = serializers.CharField(
        min_length=24, max_length=24, required=False, validators=[BASE64_MD5]
    )


_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=")
_MD5 = re.compile(r"[A-Za-z0-9+/]{22}==")


def well_formed_parts(data) -> list[services.PartRequest] | None:
    """A signing request's parts when every one is well formed, checked without DRF's field
    machinery (a nested serializer per part was a third of a 100-part signing). None when
    anything is off: the request then goes through ``SignInput``, whose errors say what."""
    parts = data.get("parts") if isinstance(data, dict) else None
    if not isinstance(parts, list) or not 1 <= len(parts) <= services.MAX_PARTS_PER_SIGNING:
        return None
    found = []
    for part in parts:
        if not isinstance(part, dict):
            return None
        number = part.get("part_number")
        sha256 = part.get("checksum_sha256")
        md5 = part.get("content_md5", "")
        if type(number) is not int or not 1 <= number <= MAX_PARTS:
            return None
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            return None
        if "content_md5" in part and not (isinstance(md5, str) and _MD5.fullmatch(md5)):
            return None
        found.append(services.PartRequest(number, sha256, md5))
    return found


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


class UploadPartsApi(UploadApiView):
    """``POST``: signed URLs for up to 100 parts, each pinned to its size and SHA-256."""

    throttle_scopes = {"POST": "upload_sign"}

    class SignInput(serializers.Serializer):
        parts = PartInput(
            many=True,
            allow_empty=False,
            min_length=1,
            max_length=services.MAX_PARTS_PER_SIGNING,
        )

        def validate_parts(self, parts):
            return [services.PartRequest(**part) for part in parts]

    class SignedPartOutput(serializers.Serializer):
        part_number = serializers.IntegerField()
        url = serializers.CharField()
        method = serializers.CharField(default="PUT")
        headers = serializers.DictField(child=serializers.CharField())
        size = serializers.IntegerField()

    @extend_schema(
        request=SignInput,
        responses={
            200: inline_serializer(
                "SignedParts",
                {"parts": SignedPartOutput(many=True), "expires_at": serializers.DateTimeField()},
            ),
            **errors(400, 404, 409, 413, 415),
        },
    )
    def post(self, request, pk):
        upload = self.get_upload(pk)
        parts = well_formed_parts(request.data)
        if parts is None:
            data = self.SignInput(data=request.data)
            data.is_valid(raise_exception=True)
            parts = data.validated_data["parts"]
        signed_at = timezone.now()
        signed = services.upload_sign_parts(upload=upload, parts=parts)
        return Response(
            {
                "parts": [
                    {
                        "part_number": part.part_number,
                        "url": part.url,
                        "method": "PUT",
                        "headers": part.headers,
                        "size": part.size,
                    }
                    for part in signed
                ],
                "expires_at": signed_at + timedelta(seconds=settings.UPLOADS_PART_URL_EXPIRES),
            }
        )


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


class PurposeOutput(serializers.Serializer):
    name = serializers.CharField()
    max_size = serializers.IntegerField()
    extensions = serializers.ListField(child=serializers.CharField())
    content_types = serializers.ListField(child=serializers.CharField(), allow_null=True)
    description = serializers.CharField()
    stages = serializers.DictField(child=serializers.CharField(), help_text="Words for each stage.")


class RulesOutput(serializers.Serializer):
    purposes = PurposeOutput(many=True)
    states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    final_states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    stages = serializers.DictField(child=serializers.CharField(), help_text="Words for each stage.")
    max_parts = serializers.IntegerField(help_text="S3's limit of parts per upload.")
    max_parts_per_signing = serializers.IntegerField(help_text="Parts per call to parts/.")


class PurposesApi(UploadApiView):
    """``GET``: the rules a client needs before and during an upload, served once from here:
    each purpose's limits and words for each stage, the states (and which are final), and the
    limits of the part calls."""

    @extend_schema(responses={200: RulesOutput, **errors()})
    def get(self, request):
        stage_labels = dict(UploadStage.choices)
        return Response(
            {
                "purposes": [
                    purpose.as_limits(stage_labels) for purpose in purposes.all_purposes()
                ],
                "states": UploadState.values,
                "final_states": list(FINAL_STATES),
                "stages": stage_labels,
                "max_parts": MAX_PARTS,
                "max_parts_per_signing": services.MAX_PARTS_PER_SIGNING,
            }
        )
