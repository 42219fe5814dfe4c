"""The API's throttle: DRF's scoped rates, counted in one Redis round trip.

DRF's own throttle keeps each caller's request times in a list that it reads, trims and writes
back: two round trips per request, and a list as long as the rate. Here a caller's window opens
at their first request and counts up to the rate: one MULTI (SET NX EX, INCR, PTTL). A cache
other than Redis (the local file cache) is throttled DRF's way. A cache that is down lets the
request through: a throttle guards against abuse and is never a reason to fail an upload.
"""

import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import ScopedRateThrottle

from uploads.conf import settings

logger = logging.getLogger("uploads")


class UploadThrottle(ScopedRateThrottle):
    seconds_left: float | None = None

    def allow_request(self, request, view):
        cache = caches[DEFAULT_CACHE_ALIAS]
        if not isinstance(cache, RedisCache):
            try:
                return super().allow_request(request, view)
            except Exception:
                logger.warning("throttle not checked: the cache is unavailable", exc_info=True)
                return True
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            count, self.seconds_left = count_in_window(cache, f"window:{key}", self.duration)
        except Exception:
            logger.warning("throttle %s not checked: the cache is unavailable", self.scope)
            return True
        return count <= self.num_requests

    def get_rate(self):
        # A project that names no rate for one of the engine's scopes gets the engine's.
        if self.scope not in self.THROTTLE_RATES:
            return settings.UPLOADS_THROTTLE_RATES.get(self.scope) or super().get_rate()
        return super().get_rate()

    def wait(self):
        return self.seconds_left if self.seconds_left is not None else super().wait()


def count_in_window(cache: RedisCache, key: str, seconds: int) -> tuple[int, float]:
    """One more in ``key``'s window of ``seconds`` (opened now if none is open): the count so
    far, and the seconds until the window closes."""
    redis_key = cache.make_and_validate_key(key)
    # Django's Redis backend has no atomic counter with an expiry; its client is the way in.
    client = cache._cache.get_client(redis_key, write=True)
    pipeline = client.pipeline(transaction=True)
    pipeline.set(redis_key, 0, ex=seconds, nx=True)
    pipeline.incr(redis_key)
    pipeline.pttl(redis_key)
    _, count, milliseconds_left = pipeline.execute()
    return count, max(milliseconds_left, 0) / 1000
