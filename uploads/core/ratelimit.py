"""Fixed-window counters in the cache, for every rate limit of the engine and of a site on it.

On Redis a key's window opens at its first count and one MULTI (SET NX EX, INCR, PTTL) counts
and says when the window closes: one round trip per request. Another cache (the local file
cache) cannot say when a key expires, so there the windows are aligned to the clock and their
end is computed. A cache that is down counts nothing and answers None: a limit guards against
abuse and is never a reason for an honest caller to see an error.
"""

import logging
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """How many times a key was counted in its current window, and when the window closes."""

    count: int
    seconds_left: float


def hit(key: str, seconds: int) -> Window | None:
    """Count one more for ``key`` in its window of ``seconds`` (opened now when none is open)."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    try:
        if isinstance(cache, RedisCache):
            redis_key, client = _redis(cache, key)
            pipeline = client.pipeline(transaction=True)
            pipeline.set(redis_key, 0, ex=seconds, nx=True)
            pipeline.incr(redis_key)
            pipeline.pttl(redis_key)
            _, count, milliseconds_left = pipeline.execute()
            return Window(count, max(milliseconds_left, 0) / 1000)
        clock_key, seconds_left = _clock_window(key, seconds)
        cache.add(clock_key, 0, timeout=seconds + 1)
        return Window(cache.incr(clock_key), seconds_left)
    except Exception:
        logger.warning("rate %s not counted: the cache is unavailable", key, exc_info=True)
        return None


def peek(key: str, seconds: int) -> Window | None:
    """``key``'s window as it stands, counting nothing (a count of 0 when none is open)."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    try:
        if isinstance(cache, RedisCache):
            redis_key, client = _redis(cache, key)
            pipeline = client.pipeline(transaction=False)
            pipeline.get(redis_key)
            pipeline.pttl(redis_key)
            count, milliseconds_left = pipeline.execute()
            return Window(int(count or 0), max(milliseconds_left, 0) / 1000)
        clock_key, seconds_left = _clock_window(key, seconds)
        return Window(cache.get(clock_key, 0), seconds_left)
    except Exception:
        logger.warning("rate %s not read: the cache is unavailable", key, exc_info=True)
        return None


def clear(key: str, seconds: int) -> None:
    """Close ``key``'s window: its next count starts from one."""
    cache = caches[DEFAULT_CACHE_ALIAS]
    try:
        if isinstance(cache, RedisCache):
            cache.delete(key)
        else:
            cache.delete(_clock_window(key, seconds)[0])
    except Exception:
        logger.warning("rate %s not cleared: the cache is unavailable", key, exc_info=True)


def _redis(cache: RedisCache, key: str):
    redis_key = cache.make_and_validate_key(key)
    # Django's Redis backend has no atomic counter with an expiry; its client is the way in.
    return redis_key, cache._cache.get_client(redis_key, write=True)


def _clock_window(key: str, seconds: int) -> tuple[str, float]:
    now = time.time()
    window = int(now // seconds)
    return f"{key}:{window}", (window + 1) * seconds - now
