"""The Celery app: `celery -A celery_worker worker` (add `--beat` for the periodic tasks).

Its configuration is the CELERY_* settings (s7/settings.py): late acks, tasks of a dead worker
rejected back to the queue, prefetch 1, soft/hard time limits, a Redis visibility timeout above
the hard limit, TLS for Heroku's rediss://, and the beat schedule of the upload sweeps. Run it
with REMAP_SIGTERM=SIGQUIT (the Procfile does), so that Heroku's SIGTERM gives running tasks a
soft shutdown and hands back those that do not finish.

Its logs are the site's (JSON lines, see ``use_the_sites_logging``) and its errors reach the
error tracker when SENTRY_DSN is set (s7/tracking.py, started by the settings).
"""

import logging.config
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "s7.settings")

app = Celery("s7")


@signals.setup_logging.connect(weak=False)
def use_the_sites_logging(**kwargs):
    """The worker logs like the web: JSON lines with the request id (settings.LOGGING), in
    place of Celery's own format. Loading the settings also starts error tracking."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["uploads.worker", "items"])
