"""Progress records in the cache: hints for the uploader's UI, never the source of truth.

Every entry has a prefixed key and a TTL. When the cache is down, writes are dropped and reads
return nothing, so an upload never fails because progress could not be shown.
"""

import logging
from datetime import UTC, datetime

from django.core.cache import caches
from django.db import models

from uploads.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "uploads:progress:"


class UploadStage(models.TextChoices):
    """Where an upload is within its state, as the uploader shows it; served by the API
    (``GET /api/uploads/purposes/``) with these labels, which a purpose may override."""

    UPLOADING = "uploading", "Uploading…"
    COMPLETING = "completing", "Completing the upload…"
    VERIFYING = "verifying", "Verifying the stored file…"
    PROCESSING = "processing", "Processing…"
    READY = "ready", "Ready."
    FAILED = "failed", "Failed."


def _cache():
    return caches[settings.UPLOADS_PROGRESS_CACHE]


def _key(upload_id) -> str:
    return f"{KEY_PREFIX}{upload_id}"


def read(upload_id) -> dict:
    try:
        return _cache().get(_key(upload_id)) or {}
    except Exception:  # any cache outage: degrade to "no progress shown"
        logger.warning("progress cache unavailable; reading nothing", exc_info=True)
        return {}


def write(upload_id, **fields) -> bool:
    """Merge ``fields`` into the record; False when the cache could not take it."""
    try:
        cache = _cache()
        record = cache.get(_key(upload_id)) or {}
        record.update(fields, updated_at=datetime.now(UTC).isoformat())
        cache.set(_key(upload_id), record, timeout=settings.UPLOADS_PROGRESS_TTL)
        return True
    except Exception:
        logger.warning("progress cache unavailable; dropping a progress write", exc_info=True)
        return False


def set_stage(upload_id, stage: UploadStage) -> bool:
    return write(upload_id, stage=UploadStage(stage).value)
