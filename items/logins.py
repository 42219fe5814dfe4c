"""Password guessing, limited wherever a password is checked.

Failed checks are counted per client address and per account (``ITEMS_RATES["login"]``); once
either has failed that many times in its window, no password is checked for it until the window
ends, whatever asks: the log-in page, the admin's, the password change form, or anything else
that calls ``authenticate()`` (the backend below refuses, and Django reports each failure through
``user_login_failed``, which is where they are counted). A successful log-in counts nothing.

Someone whose account is held can still reset its password by e-mail (a separate limit), and
the reset frees the account at once.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from items import limits

_ADDRESS_SCOPE = "login:address"
_ACCOUNT_SCOPE = "login:account"


def account_key(username: str) -> str:
    """The account a typed name means. Django compares names after NFKC normalization, so
    full-width and mathematical letters spell the plain name; names that differ only in case
    are counted as one account too, so that a guesser gains nothing by varying either."""
    plain = unicodedata.normalize("NFKC", username).strip()
    return unicodedata.normalize("NFKC", plain.casefold())


@dataclass(frozen=True)
class Hold:
    seconds: int  # until the window ends
    whose: str  # "from your address" or "for this account"


def _rates() -> tuple[limits.Rate, limits.Rate]:
    rates = settings.ITEMS_RATES["login"]
    return limits.Rate.parse(rates["address"]), limits.Rate.parse(rates["account"])


def hold_on(request, username: str | None) -> Hold | None:
    """Why no password may be checked for this request and name right now, if so."""
    address_rate, account_rate = _rates()
    if request is not None:
        wait = limits.reached(_ADDRESS_SCOPE, limits.client_address(request), address_rate)
        if wait:
            return Hold(wait, "from your address")
    if username:
        wait = limits.reached(_ACCOUNT_SCOPE, account_key(username), account_rate)
        if wait:
            return Hold(wait, "for this account")
    return None


def count_failure(request, username: str | None) -> None:
    address_rate, account_rate = _rates()
    if request is not None:
        limits.hit(_ADDRESS_SCOPE, limits.client_address(request), address_rate)
    if username:
        limits.hit(_ACCOUNT_SCOPE, account_key(username), account_rate)


def free_account(username: str) -> None:
    """Lift the account's hold: its owner has just proved who they are another way."""
    limits.forget(_ACCOUNT_SCOPE, account_key(username), _rates()[1])


class LimitedModelBackend(ModelBackend):
    """Django's own backend, which checks no password while the address or account is held."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if hold_on(request, name) is not None:
            # Django then stops asking other backends and reports the failure.
            raise PermissionDenied("Too many failed password checks.")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="items.count_failed_password_check")
def count_failed_password_check(sender, credentials, request=None, **kwargs):
    name = credentials.get("username", credentials.get(get_user_model().USERNAME_FIELD))
    count_failure(request, name if isinstance(name, str) else None)


def limit_password_checks(account_of):
    """Refuse (429) a POST to a view that checks a password while the client address or the
    account (``account_of(request)``) has failed too many checks. The refusal offers the
    password reset, which the hold does not stop."""

    def wrap(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            if request.method == "POST":
                hold = hold_on(request, account_of(request))
                if hold is not None:
                    return limits.too_many_requests(
                        request,
                        f"Too many failed log-in attempts {hold.whose}.",
                        hold.seconds,
                        offer_reset=True,
                    )
            return view(request, *args, **kwargs)

        return limited

    return wrap


def typed_username(request) -> str:
    """The name a log-in form was sent with (the site's and the admin's)."""
    return request.POST.get("username", "")


def signed_in_username(request) -> str:
    return request.user.get_username() if request.user.is_authenticated else ""
