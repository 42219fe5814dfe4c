"""The error tracker (Sentry): exceptions in views and Celery tasks, with their context, but never
what people typed: no request bodies, no local variables, and no value under a name that looks
like a password, a secret or a token, wherever in the event it appears."""

import re
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import EventScrubber
from sentry_sdk.utils import AnnotatedValue

from s7.env import DEVELOPMENT, env

# Parts of names, not whole names: Django's forms say password1, new_password1 and old_password,
# the sign-up form passphrase, and a header may be X-Upload-Token.
SENSITIVE_NAME = re.compile(
    r"passw|passphrase|^pass$|pwd|secret|token|csrf|session|cookie|credential|authoriz"
    r"|api_?key|private_?key|signature",
    re.IGNORECASE,
)


FILTERED = "[Filtered]"


class SensitiveNameScrubber(EventScrubber):
    """sentry-sdk's scrubber, matching parts of names: its own list holds whole names
    ("password"), so ``password1``, ``new_password1``, ``old_password`` and ``passphrase`` passed
    it untouched. It scrubs nested values too, the request's query string and the event's
    contexts, which sentry-sdk's leaves alone."""

    def __init__(self):
        super().__init__(recursive=True, send_default_pii=False)

    def scrub_dict(self, d: object) -> None:
        if not isinstance(d, dict):
            return
        for key, value in d.items():
            if isinstance(key, str) and (
                key.lower() in self.denylist or SENSITIVE_NAME.search(key)
            ):
                d[key] = AnnotatedValue.substituted_because_contains_sensitive_data()
            else:
                self.scrub_dict(value)
                self.scrub_list(value)

    def scrub_request(self, event) -> None:
        super().scrub_request(event)
        request = event.get("request")
        if isinstance(request, dict) and isinstance(request.get("query_string"), str):
            request["query_string"] = urlencode(
                [
                    (name, FILTERED if SENSITIVE_NAME.search(name) else value)
                    for name, value in parse_qsl(request["query_string"], keep_blank_values=True)
                ]
            )

    def scrub_event(self, event) -> None:
        super().scrub_event(event)
        self.scrub_dict(event.get("contexts"))


def start_error_tracking(*, dsn: str, environment: str, release: str | None, traces_sample_rate):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user's address, cookies or e-mail leave the site.
        send_default_pii=False,
        # Nor what they sent: a body holds passwords and private texts whatever its fields'
        # names, and so may a frame's local variables (a view's ``body = request.body``).
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=SensitiveNameScrubber(),
        traces_sample_rate=traces_sample_rate,
    )


def start_error_tracking_from_environment(dsn: str) -> None:
    start_error_tracking(
        dsn=dsn,
        environment=env("SENTRY_ENVIRONMENT", "development" if DEVELOPMENT else "production"),
        # Heroku's dyno metadata names the deployed commit.
        release=env("SENTRY_RELEASE", env("HEROKU_SLUG_COMMIT")) or None,
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )
