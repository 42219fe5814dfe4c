"""Signing an upload's parts: up to a call's worth of part URLs, each pinned to its size and
SHA-256 (and MD5 when the part replaces one S3 holds)."""

import re
from datetime import timedelta

from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from uploads.api import services
from uploads.api.base import UploadApiView, errors
from uploads.conf import settings
from uploads.core.plan import MAX_PARTS

BASE64_SHA256 = RegexValidator(r"^[A-Za-z0-9+/]{43}=$", "The base64 of a 32-byte SHA-256 digest.")
BASE64_MD5 = RegexValidator(r"^[A-Za-z0-9+/]{22}==$", "The base64 of a 16-byte MD5 digest.")


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
