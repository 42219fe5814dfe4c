"""The engine's own listeners: one structured log line per transition."""

import logging

from django.dispatch import receiver

from uploads.core.models import FINAL_STATES, STATE_TIME_FIELD
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
