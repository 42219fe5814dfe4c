"""``/healthz`` for Heroku and uptime checks: can this process reach what it needs?

Answers without authentication, so it says only which service is unreachable, never why (no
host names, no error text): the reason goes to the log. Anyone may ask, so asking is cheap: each
process checks at most once every ``HEALTHZ_MAX_AGE`` seconds and answers from that result in
between, and each address may ask ``HEALTHZ_RATE`` times.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from items import limits
from uploads.storage import bucket_setup

logger = logging.getLogger("s7.health")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    # A cache that swallows errors (or is a dummy) must still be found out: read back a value.
    key, value = "healthz", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not keep a value")


def _storage() -> None:
    if not bucket_setup.bucket_exists():
        raise RuntimeError("the bucket does not exist")


CHECKS = {"database": _database, "cache": _cache, "storage": _storage}


def run_checks() -> dict[str, str]:
    checks = {}
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("healthz: %s is unreachable: %r", name, exc)
            checks[name] = "unreachable"
    return checks


class Recent:
    """The result of ``compute``, computed again once it is ``max_age`` seconds old; one thread
    computes while the others wait for its result (a burst of requests makes one check)."""

    def __init__(self, compute: Callable[[], dict]):
        self.compute = compute
        self.lock = threading.Lock()
        self.result: dict | None = None
        self.computed_at = 0.0

    def get(self, max_age: float) -> dict:
        if self.result is not None and time.monotonic() - self.computed_at < max_age:
            return self.result
        with self.lock:
            if self.result is None or time.monotonic() - self.computed_at >= max_age:
                self.result = self.compute()
                self.computed_at = time.monotonic()
            return self.result

    def forget(self) -> None:
        with self.lock:
            self.result = None


recent_checks = Recent(run_checks)


@never_cache
@require_GET
def healthz(request):
    wait = limits.hit(
        "healthz", limits.client_address(request), limits.Rate.parse(settings.HEALTHZ_RATE)
    )
    if wait:
        response = JsonResponse(
            {"status": "throttled", "detail": f"Too many requests; ask again in {wait} s."},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    checks = recent_checks.get(settings.HEALTHZ_MAX_AGE)
    down = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "unreachable": down, "checks": checks},
        status=503 if down else 200,
    )
