"""Who a request comes from, and how often they may do something: fixed windows in the cache.

A cache that is down lets everyone through: a limit is a guard against abuse, never a reason
for an honest visitor to see an error.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("items")

_PERIODS = {"s": 1, "sec": 1, "min": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|min|hour|day)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/min"``, ``"5/hour"``, ``"20/15min"``."""
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"A rate reads like 10/min or 20/15min, not {text!r}.")
        count, multiple, period = match.groups()
        return cls(int(count), int(multiple or 1) * _PERIODS[period])

    def in_words(self) -> str:
        minutes = self.seconds // 60
        if self.seconds < 60:
            return f"{self.seconds} seconds"
        if minutes < 60:
            return f"{minutes} minute{'s' if minutes != 1 else ''}"
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"


def client_address(request) -> str:
    """The visitor's address: behind Heroku's router the last address it appended to
    X-Forwarded-For (``TRUSTED_PROXY_COUNT`` proxies in front), else the socket's."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def hashed(value: str) -> str:
    """A keyed hash: counts and limits need to tell visitors apart, never to know them."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def visitor(request) -> str:
    """The user's id when logged in, else the hashed client address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"address:{hashed(client_address(request))}"


def _window(scope: str, key: str, rate: Rate) -> tuple[str, int]:
    """The cache key of ``key``'s current window in ``scope``, and the seconds until it ends."""
    now = time.time()
    window = int(now // rate.seconds)
    return f"limit:{scope}:{hashed(key)}:{window}", max(1, int((window + 1) * rate.seconds - now))


def hit(scope: str, key: str, rate: Rate) -> int | None:
    """Count one more for ``key`` in ``scope``; the seconds to wait when it is over ``rate``,
    else None."""
    cache_key, seconds_left = _window(scope, key, rate)
    try:
        cache.add(cache_key, 0, timeout=rate.seconds + 1)
        count = cache.incr(cache_key)
    except Exception:
        logger.warning("rate limit %s not checked: the cache is unavailable", scope, exc_info=True)
        return None
    return None if count <= rate.count else seconds_left


def reached(scope: str, key: str, rate: Rate) -> int | None:
    """The seconds to wait when ``key`` has already been counted ``rate.count`` times in
    ``scope``'s window, else None; counts nothing."""
    cache_key, seconds_left = _window(scope, key, rate)
    try:
        count = cache.get(cache_key, 0)
    except Exception:
        logger.warning("rate limit %s not checked: the cache is unavailable", scope, exc_info=True)
        return None
    return None if count < rate.count else seconds_left


def forget(scope: str, key: str, rate: Rate) -> None:
    """Clear ``key``'s count in ``scope``'s current window."""
    cache_key, _ = _window(scope, key, rate)
    try:
        cache.delete(cache_key)
    except Exception:
        logger.warning("rate limit %s not cleared: the cache is unavailable", scope, exc_info=True)


def first_time_today(scope: str, key: str, day) -> bool:
    """True the first time ``key`` is seen in ``scope`` on ``day`` (and when the cache is
    down, so that nothing is lost for it)."""
    try:
        return cache.add(f"once:{scope}:{hashed(key)}:{day.isoformat()}", 1, timeout=25 * 3600)
    except Exception:
        logger.warning("%s not deduplicated: the cache is unavailable", scope, exc_info=True)
        return True
