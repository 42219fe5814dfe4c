"""Tiny helpers that read settings from the environment.

Production is the default: only ``S7_ENV=development`` (which ``make run``, the tests and the
bench set) gives the local defaults. Anything else, unset or misspelled, is production, where
every setting without a safe default must be named: ``required()`` collects the missing ones so
start-up fails once, naming them all.
"""

import os

from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT = os.environ.get("S7_ENV", "").strip().lower() == "development"
PRODUCTION = not DEVELOPMENT

_missing: list[str] = []


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def required(name: str, local_default: str) -> str:
    """The variable's value; in production a missing one is recorded for ``fail_if_missing``."""
    value = os.environ.get(name, "")
    if value:
        return value
    if PRODUCTION:
        if name not in _missing:
            _missing.append(name)
        return ""
    return local_default


def fail_if_missing() -> None:
    if _missing:
        names = ", ".join(_missing)
        raise ImproperlyConfigured(
            f"Production settings are missing: {names}. Set them with `heroku config:set`."
        )
