"""The API's throttle: DRF's scoped rates, counted by the engine's fixed-window counter.

DRF's own throttle keeps each caller's request times in a list that it reads, trims and writes
back: two round trips per request, and a list as long as the rate. Here a caller's window is
one counter (``uploads.core.ratelimit``): one round trip on Redis. A cache that is down lets
the request through: a throttle guards against abuse and is never a reason to fail an upload.
"""

from rest_framework.throttling import ScopedRateThrottle

from uploads.conf import settings
from uploads.core import ratelimit


class UploadThrottle(ScopedRateThrottle):
    seconds_left: float | None = None

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        window = ratelimit.hit(f"window:{key}", self.duration)
        if window is None:
            return True
        self.seconds_left = window.seconds_left
        return window.count <= self.num_requests

    def get_rate(self):
        # A project that names no rate for one of the engine's scopes gets the engine's.
        if self.scope not in self.THROTTLE_RATES:
            return settings.UPLOADS_THROTTLE_RATES.get(self.scope) or super().get_rate()
        return super().get_rate()

    def wait(self):
        return self.seconds_left if self.seconds_left is not None else super().wait()
