"""How S7 logs: one JSON object per line, for Django's logging and gunicorn's alike, with the
request's X-Request-ID (Heroku's router sets it) on every line logged while serving it, in the
web process and in the tasks it enqueued."""

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}


def logging_settings(level: str) -> dict:
    """Django's LOGGING, the worker's too (celery_worker.py)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "s7.requestid.RequestIdFilter"}},
        "formatters": {"json": JSON_FORMATTER},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # Django's own handlers (an e-mail to ADMINS, a plain console line) stand aside:
            # every line goes through the root's JSON handler.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            # A worker's "ready." and shutdown lines, whatever LOG_LEVEL says (scripts wait
            # for them).
            "celery.apps.worker": {"level": "INFO"},
        },
    }
