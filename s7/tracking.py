"""The error tracker (Sentry): exceptions in views and Celery tasks, with their context."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def start_error_tracking(*, dsn: str, environment: str, release: str | None, traces_sample_rate):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user's address, cookies or e-mail leave the site.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )
