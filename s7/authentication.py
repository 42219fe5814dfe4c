"""DRF's token authentication, each token's user remembered for a few seconds per process.

Scripts and the Python client sign part URLs a few times a second; looking the token and its
user up in Postgres for each of those requests was a quarter of a signing's time. A token
deleted or a user changed in this process is forgotten at once (signals); the other web
processes notice within ``API_TOKEN_CACHE_SECONDS`` (0 turns the memory off).
"""

from __future__ import annotations

import copy
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

# A bound on the memory: past it, everything is forgotten and asked again.
MAX_REMEMBERED = 10_000

_remembered: dict[str, tuple[float, object, Token]] = {}


class RememberedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        now = time.monotonic()
        known = _remembered.get(key)
        if known is not None and known[0] > now:
            _, user, token = known
        else:
            user, token = super().authenticate_credentials(key)
            seconds = settings.API_TOKEN_CACHE_SECONDS
            if seconds > 0:
                if len(_remembered) >= MAX_REMEMBERED:
                    _remembered.clear()
                _remembered[key] = (now + seconds, user, token)
        # Each request gets its own copy: a view that changes request.user changes only its own.
        return copy.copy(user), token


def forget_token(sender, instance, **kwargs) -> None:
    _remembered.pop(instance.key, None)


def forget_user(sender, instance, **kwargs) -> None:
    for key, (_, user, _token) in list(_remembered.items()):
        if user.pk == instance.pk:
            _remembered.pop(key, None)


post_delete.connect(forget_token, sender=Token, dispatch_uid="s7-forget-token")
post_save.connect(forget_token, sender=Token, dispatch_uid="s7-forget-saved-token")
post_save.connect(forget_user, sender=get_user_model(), dispatch_uid="s7-forget-user")
post_delete.connect(forget_user, sender=get_user_model(), dispatch_uid="s7-forget-deleted-user")
