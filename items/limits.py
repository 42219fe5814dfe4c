"""Who a request comes from, how often they may do something (the engine's fixed-window
counter, ``uploads.core.ratelimit``, under the site's rates), and the page that says no.

A cache that is down lets everyone through: a limit is a guard against abuse, never a reason
for an honest visitor to see an error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

from uploads.core import ratelimit

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


def _key(scope: str, key: str) -> str:
    return f"limit:{scope}:{hashed(key)}"


def _wait(window: ratelimit.Window) -> int:
    return max(1, math.ceil(window.seconds_left))


def hit(scope: str, key: str, rate: Rate) -> int | None:
    """Count one more for ``key`` in ``scope``; the seconds to wait when it is over ``rate``,
    else None."""
    window = ratelimit.hit(_key(scope, key), rate.seconds)
    return _wait(window) if window is not None and window.count > rate.count else None


def reached(scope: str, key: str, rate: Rate) -> int | None:
    """The seconds to wait when ``key`` has already been counted ``rate.count`` times in
    ``scope``'s window, else None; counts nothing."""
    window = ratelimit.peek(_key(scope, key), rate.seconds)
    return _wait(window) if window is not None and window.count >= rate.count else None


def forget(scope: str, key: str, rate: Rate) -> None:
    """Clear ``key``'s count in ``scope``'s current window."""
    ratelimit.clear(_key(scope, key), rate.seconds)


def first_time_today(scope: str, key: str, day) -> bool:
    """True the first time ``key`` is seen in ``scope`` on ``day`` (and when the cache is
    down, so that nothing is lost for it)."""
    try:
        return cache.add(f"once:{scope}:{hashed(key)}:{day.isoformat()}", 1, timeout=25 * 3600)
    except Exception:
        logger.warning("%s not deduplicated: the cache is unavailable", scope, exc_info=True)
        return True


def too_many_requests(request, sentence: str, retry_after: int, *, offer_reset=False):
    """429 with a sentence a person can act on, and when to try again."""
    response = render(
        request,
        "items/too_many_requests.html",
        {
            "sentence": sentence,
            "minutes": max(1, -(-retry_after // 60)),
            "offer_reset": offer_reset,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


# What a person is told when an account form is refused for its rate, by what was limited.
_TOO_MANY = {
    "signup": "Too many sign-ups",
    "password_reset": "Too many password reset requests",
}


def limit_posts(scope: str, *, account_field: str | None = None):
    """Refuse (429) POSTs to the view past ``ITEMS_RATES[scope]`` per client address and,
    when ``account_field`` names the form's account field, per account, so that one account
    cannot be flooded from many addresses. Every POST counts (password checks count only
    their failures: ``items.logins.limit_password_checks``)."""

    def wrap(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            rates = settings.ITEMS_RATES[scope]
            if request.method == "POST":
                wait = hit(
                    f"{scope}:address", client_address(request), Rate.parse(rates["address"])
                )
                whose = "from your address"
                account = request.POST.get(account_field, "") if account_field else ""
                account = account.strip().lower()[:254]
                if not wait and account and "account" in rates:
                    wait = hit(f"{scope}:account", account, Rate.parse(rates["account"]))
                    whose = "for this account"
                if wait:
                    return too_many_requests(request, f"{_TOO_MANY[scope]} {whose}.", wait)
            return view(request, *args, **kwargs)

        return limited

    return wrap
