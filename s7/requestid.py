"""The request id that ties log lines together: Heroku's router gives each request an
``X-Request-ID``; every line logged while serving it, and in any task it enqueued, carries it.

The id travels in a context variable (one per thread or task), into Celery as a message header.
"""

import contextvars
import logging
import re
import uuid

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Heroku's are UUIDs; anything else that is short and plain is kept, the rest replaced, so that
# a client cannot write what it likes into the logs.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:@+=-]{8,200}$")


def request_id_from(value: str | None) -> str:
    return value if value and _ACCEPTABLE.match(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get(HEADER))
        # Cleared when the response is closed, not on return: Django logs a 4xx/5xx response
        # after the middleware has returned it.
        current_request_id.set(request.request_id)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


@receiver(request_finished, dispatch_uid="s7.requestid.finished")
def _forget_request_id(**kwargs):
    current_request_id.set(None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to a record logged while a request or task has one."""

    def filter(self, record):
        request_id = current_request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


@signals.before_task_publish.connect(weak=False, dispatch_uid="s7.requestid.publish")
def _send_request_id(headers=None, **kwargs):
    request_id = current_request_id.get()
    if request_id is not None and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, contextvars.Token] = {}


@signals.task_prerun.connect(weak=False, dispatch_uid="s7.requestid.prerun")
def _adopt_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id:
        _task_tokens[task_id] = current_request_id.set(request_id)


@signals.task_postrun.connect(weak=False, dispatch_uid="s7.requestid.postrun")
def _drop_request_id(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        current_request_id.reset(token)
