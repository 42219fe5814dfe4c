"""Answers for a service that is down, instead of a 500; errors under /api/ in JSON."""

import logging

from django.conf import settings
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


_API_ERROR_SENTENCES = {
    404: "Not found.",
    500: "Something went wrong on our side; it has been recorded. Try again later.",
}


class ApiErrorsAsJsonMiddleware:
    """Every error under /api/ answers JSON (``{"detail": …}``), whoever made it: the URL
    resolver (an id of the wrong form matches no route), Django's error pages (500, and 404 in
    DEBUG, which bypasses ``handler404``), a plain view's 405. DRF's own errors are JSON
    already and pass untouched; the headers that matter (``Allow``, ``Retry-After``) are kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(settings.API_PATH_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        sentence = _API_ERROR_SENTENCES.get(response.status_code)
        if response.status_code == 405:
            sentence = f'Method "{request.method}" not allowed.'
        answer = JsonResponse(
            {"detail": sentence or f"{response.reason_phrase}."}, status=response.status_code
        )
        for header in ("Allow", "Retry-After"):
            if header in response:
                answer[header] = response[header]
        return answer
