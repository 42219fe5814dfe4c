"""Gunicorn for Heroku: every request answers well inside the router's 30 s limit."""

import os

from s7.logs import JSON_FORMATTER

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
preload_app = True
# The heartbeat file on a RAM disk: Heroku's /tmp is a real disk and can stall the heartbeat.
worker_tmp_dir = "/dev/shm"
# No request may outlive Heroku's 30 s router limit; S7 requests take milliseconds.
timeout = 20
# Heroku sends SIGKILL 30 s after SIGTERM: finish in-flight requests well before that.
graceful_timeout = 20
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
forwarded_allow_ips = "*"

# Gunicorn's own lines are JSON too, like the site's (s7/settings.py LOGGING). An access line is
# written whole by this format (a request line holds no raw quote: HTTP does not allow one), with
# the router's X-Request-ID; the error log goes through python-json-logger.
access_log_format = (
    '{"logger": "gunicorn.access", "time": "%(t)s", "remote": "%(h)s", "request": "%(r)s", '
    '"status": %(s)s, "bytes": "%(b)s", "ms": %(M)s, "request_id": "%({x-request-id}i)s"}'
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
