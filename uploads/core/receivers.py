"""The engine's own listeners: one structured log line per transition, and a deleted upload's
objects deleted from S3 once the deletion is committed."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from uploads.core.models import FINAL_STATES, STATE_TIME_FIELD, Upload, UploadState
from uploads.core.signals import upload_state_changed

logger = logging.getLogger("uploads.transitions")


@receiver(upload_state_changed, dispatch_uid="uploads.log_transition")
def log_transition(sender, upload, source, target, **kwargs):
    """Fields of the JSON log line, so that a log drain can count and chart transitions
    without parsing prose.

    ``duration`` is the time spent in ``source`` (seconds), from the rows' transition times.
    """
    entered = getattr(upload, STATE_TIME_FIELD[target], None)
    left = getattr(upload, STATE_TIME_FIELD[source], None) if source else None
    line = {
        "event": "upload_transition",
        "upload": str(upload.pk),
        "user": upload.owner_id,
        "purpose": upload.purpose,
        "size": upload.size,
        "from": source,
        "to": target,
        "duration": round((entered - left).total_seconds(), 3) if entered and left else None,
    }
    if target in FINAL_STATES and upload.error:
        line["error"] = upload.error
    logger.info("upload_transition", extra=line)


@receiver(post_delete, sender=Upload, dispatch_uid="uploads.delete_stored_objects")
def delete_stored_objects(sender, instance, **kwargs):
    """However the row goes (its owner deleted, the site letting go of a file, the sweep), what
    S3 holds for it goes too, but only once the deletion is committed: a rolled-back deletion
    keeps its file. A delete S3 refuses leaves an orphan that ``upload_audit --fix`` finds."""
    upload = instance

    def delete():
        if upload.state == UploadState.UPLOADING:
            upload.abort_multipart_upload()
        upload.delete_stored_objects()

    transaction.on_commit(delete, robust=True)
