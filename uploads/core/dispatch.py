"""Hands uploads to the worker by task name, so that whoever enqueues never imports the worker.

The worker's tasks register under these names (``uploads.worker.tasks``).
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger("uploads")

PROCESS_UPLOAD = "uploads.process_upload"
EXPIRE_STALE_UPLOADS = "uploads.expire_stale_uploads"
SWEEP_STUCK_UPLOADS = "uploads.sweep_stuck_uploads"
CLEANUP_STORAGE = "uploads.cleanup_storage"


def enqueue_processing(upload) -> None:
    """Enqueue the upload's completion and processing once the current transaction commits,
    so that the worker never reads a row that is not committed yet."""
    upload_id = str(upload.pk)

    def send():
        try:
            current_app.send_task(PROCESS_UPLOAD, args=[upload_id])
        except Exception:
            # The broker is down: the upload stays where it is and the periodic sweep of stuck
            # uploads enqueues it again, so the uploader still gets an answer.
            logger.exception("could not enqueue processing of %s", upload_id)

    transaction.on_commit(send)
