"""Answers for a service that is down, instead of a 500."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger("s7")

RETRY_AFTER_SECONDS = 5


class ServiceUnavailableMiddleware:
    """A database that cannot be reached (restarting, failing over, its pool spent) is a
    passing outage, not a bug: the API answers a JSON 503, a page a short 503, both with
    ``Retry-After``. Other errors still reach the error tracker as 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable: %s", exception.__class__.__name__)
        sentence = "The database is unavailable right now; try again shortly."
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": sentence}, status=503)
        else:
            response = HttpResponse(sentence, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
