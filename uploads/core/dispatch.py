"""Hands uploads to the worker by task name, so that whoever enqueues never imports the worker.

The names are ``uploads.tasknames``'s, under which the worker's tasks register.
"""

import logging

from celery import current_app
from django.db import transaction

from uploads.conf import settings
from uploads.core import purposes
from uploads.tasknames import COMPUTE_SHA256, PROCESS_UPLOAD

logger = logging.getLogger("uploads")


def processing_options(upload) -> dict:
    """Where and for how long the upload's processing runs.

    An upload whose purpose makes renditions (an image) goes to the image queue, which one
    worker child serves with a shorter time limit: decoding a hostile image can then hold up
    only other images, and never for long, while files of every other kind go on being verified.
    """
    try:
        decodes_images = bool(purposes.get(upload.purpose).renditions)
    except purposes.PurposeError:
        decodes_images = False
    if not decodes_images:
        return {"queue": settings.CELERY_TASK_DEFAULT_QUEUE}
    return {
        "queue": settings.CELERY_IMAGE_QUEUE,
        "soft_time_limit": settings.CELERY_IMAGE_TASK_SOFT_TIME_LIMIT,
        "time_limit": settings.CELERY_IMAGE_TASK_TIME_LIMIT,
    }


def enqueue_processing(upload) -> None:
    """Enqueue the upload's completion and processing once the current transaction commits,
    so that the worker never reads a row that is not committed yet."""
    upload_id = str(upload.pk)
    options = processing_options(upload)

    def send():
        try:
            current_app.send_task(PROCESS_UPLOAD, args=[upload_id], **options)
        except Exception:
            # The broker is down: the upload stays where it is and the periodic sweep of stuck
            # uploads enqueues it again, so the uploader still gets an answer.
            logger.exception("could not enqueue processing of %s", upload_id)

    transaction.on_commit(send)


def enqueue_sha256(upload) -> None:
    """Enqueue the SHA-256 of a ready upload's whole file, once the current transaction commits.

    It runs on the main queue whatever the purpose: reading bytes back decodes nothing, and the
    image queue's short time limit is for decoding.
    """
    upload_id = str(upload.pk)

    def send():
        try:
            current_app.send_task(
                COMPUTE_SHA256, args=[upload_id], queue=settings.CELERY_TASK_DEFAULT_QUEUE
            )
        except Exception:
            # The broker is down: the sweep of stuck uploads enqueues it again.
            logger.exception("could not enqueue the SHA-256 of %s", upload_id)

    transaction.on_commit(send)
