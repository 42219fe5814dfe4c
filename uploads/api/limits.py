"""Request bodies refused before they are read, in the API's own terms (JSON 413).

Django's own cap (``DATA_UPLOAD_MAX_MEMORY_SIZE``) answers an HTML 400 and only once something
reads the body; the middleware answers from the ``Content-Length`` header alone, so a 20 MB
body is refused before its first byte is read. The parser holds bodies that give no length
(or lie about it) to the same cap while reading.
"""

from __future__ import annotations

from io import BytesIO

from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser

from uploads.conf import settings


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def too_large_sentence(size: int | None) -> str:
    limit = settings.API_MAX_BODY_BYTES
    if size is None:
        return f"The request body is larger than this API accepts ({limit:,} bytes at most)."
    return f"The request body is {size:,} bytes; this API accepts at most {limit:,}."


class ApiBodyLimitMiddleware:
    """Answers 413 with JSON to any request under ``API_PATH_PREFIX`` whose declared body is
    larger than ``API_MAX_BODY_BYTES``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(settings.API_PATH_PREFIX):
            try:
                size = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                size = 0
            if size > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    {"detail": too_large_sentence(size), "code": BodyTooLarge.default_code},
                    status=413,
                )
        return self.get_response(request)


class LimitedJSONParser(JSONParser):
    """JSON, read no further than ``API_MAX_BODY_BYTES``."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLarge(too_large_sentence(None))
        return super().parse(BytesIO(data), media_type, parser_context)
