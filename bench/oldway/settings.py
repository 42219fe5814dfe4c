"""Settings of the bench's web server: S7's own, plus the old-way view's URL."""

from s7.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.oldway.urls"
