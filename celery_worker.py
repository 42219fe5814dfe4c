"""The Celery app: `celery -A celery_worker worker` (add `--beat` for the periodic tasks)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "s7.settings")

app = Celery("s7")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
