"""``/healthz`` for Heroku and uptime checks: can this process reach what it needs?

Answers without authentication, so it says only which service is unreachable, never why (no
host names, no error text): the reason goes to the log.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from uploads.storage import s3

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
    if not s3.bucket_exists():
        raise RuntimeError("the bucket does not exist")


CHECKS = {"database": _database, "cache": _cache, "storage": _storage}


@never_cache
@require_GET
def healthz(request):
    checks = {}
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("healthz: %s is unreachable: %r", name, exc)
            checks[name] = "unreachable"
    down = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "unavailable" if down else "ok", "unreachable": down, "checks": checks},
        status=503 if down else 200,
    )
