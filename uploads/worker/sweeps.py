"""Periodic sweeps (Celery beat): uploads left open past their expiry, uploads stuck mid-way,
ready uploads nothing attached in time, and what S3 holds that no open upload needs.

Each sweep is planned first (reads only; what ``upload_cleanup --dry-run`` prints) and then
applied. Applying re-checks every condition at the moment of acting (conditional transitions,
ages), so a plan that went stale while it was made never harms an upload that moved on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import caches
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from uploads.conf import settings
from uploads.core.dispatch import enqueue_processing, enqueue_sha256
from uploads.core.models import Upload, UploadState
from uploads.core.purposes import KEY_PREFIX
from uploads.storage import multipart, objects
from uploads.storage.connection import S3Error

logger = logging.getLogger("uploads")

CLOSED_STATES = (UploadState.ABORTED, UploadState.EXPIRED, UploadState.FAILED)
REQUEUED_KEY_PREFIX = "uploads:requeued:"


@dataclass
class CleanupPlan:
    now: datetime
    stale: list[Upload] = field(default_factory=list)  # open past expiry: expire, abort on S3
    stuck_completing: list[Upload] = field(default_factory=list)  # its task was lost: enqueue again
    stuck_processing: list[Upload] = field(default_factory=list)  # enqueue again
    awaiting_sha256: list[Upload] = field(default_factory=list)  # ready, its SHA-256 task lost
    orphans: list[multipart.OpenMultipartUpload] = field(default_factory=list)  # no row knows them
    closed: list[tuple[multipart.OpenMultipartUpload, Upload]] = field(default_factory=list)
    failed_objects: list[Upload] = field(default_factory=list)  # failed, object still on S3
    unattached: list[Upload] = field(default_factory=list)  # ready, never attached: delete

    def lines(self) -> list[str]:
        """One line per action, for people."""
        out = []
        out += [
            f"expire stale upload {u.pk} ({u.filename}, expired {u.expires_at:%Y-%m-%d %H:%M})"
            for u in self.stale
        ]
        out += [
            f"enqueue upload {u.pk} stuck completing since {u.completing_at:%Y-%m-%d %H:%M}"
            for u in self.stuck_completing
        ]
        out += [
            f"enqueue upload {u.pk} stuck processing since {u.processing_at:%Y-%m-%d %H:%M}"
            for u in self.stuck_processing
        ]
        out += [
            f"enqueue the SHA-256 of upload {u.pk}, ready since {u.ready_at:%Y-%m-%d %H:%M}"
            for u in self.awaiting_sha256
        ]
        out += [
            f"abort orphan multipart upload {m.key} ({m.upload_id}, started {m.initiated:%Y-%m-%d %H:%M})"
            for m in self.orphans
        ]
        out += [
            f"abort multipart upload {m.key} of {u.state} upload {u.pk}" for m, u in self.closed
        ]
        out += [f"delete object {u.key} of failed upload {u.pk}" for u in self.failed_objects]
        out += [
            f"delete upload {u.pk} ({u.filename}, {u.size:,} bytes), ready since {u.ready_at:%Y-%m-%d %H:%M} and never attached"
            for u in self.unattached
        ]
        return out  # fmt: skip

    @property
    def is_empty(self) -> bool:
        return not self.lines()


# --- Stale and stuck uploads ---------------------------------------------------------------------------


def uploads_expire_stale(*, now: datetime | None = None) -> list[Upload]:
    """Abort on S3 and mark expired every upload left open past its expiry."""
    now = now or timezone.now()
    expired = []
    for upload in Upload.objects.filter(state=UploadState.UPLOADING, expires_at__lte=now):
        if upload.transition(source=UploadState.UPLOADING, target=UploadState.EXPIRED):
            upload.abort_multipart_upload()
            expired.append(upload)
    return expired


def stuck_completing(*, now: datetime) -> list[Upload]:
    limit = timedelta(seconds=settings.UPLOADS_STUCK_COMPLETING_AFTER)
    return list(Upload.objects.filter(state=UploadState.COMPLETING, completing_at__lte=now - limit))


def stuck_processing(*, now: datetime) -> list[Upload]:
    limit = timedelta(seconds=settings.UPLOADS_STUCK_PROCESSING_AFTER)
    return list(Upload.objects.filter(state=UploadState.PROCESSING, processing_at__lte=now - limit))


def awaiting_sha256(*, now: datetime) -> list[Upload]:
    """Ready uploads still without their SHA-256 long after they became ready: the task that
    computes it was lost (a broker outage when it was sent, or retries that ran out)."""
    limit = timedelta(seconds=settings.UPLOADS_STUCK_PROCESSING_AFTER)
    return list(
        Upload.objects.filter(state=UploadState.READY, sha256="", ready_at__lte=now - limit)
    )


def upload_requeue_stuck(*, upload: Upload) -> bool:
    """Enqueue the upload's task again, at most once per stuck-limit window (the cache says
    when). The task finishes whatever is left: completion on S3, then processing; for a ready
    upload, its SHA-256."""
    window = settings.UPLOADS_STUCK_PROCESSING_AFTER
    try:
        first = caches[settings.UPLOADS_PROGRESS_CACHE].add(
            f"{REQUEUED_KEY_PREFIX}{upload.pk}", 1, timeout=window
        )
    except Exception:  # without the cache, enqueue anyway: the tasks are idempotent
        first = True
    if first:
        if upload.state == UploadState.READY:
            enqueue_sha256(upload)
        else:
            enqueue_processing(upload)
    return first


def uploads_sweep_stuck(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    stuck = stuck_completing(now=now) + stuck_processing(now=now) + awaiting_sha256(now=now)
    return {"requeued": sum(upload_requeue_stuck(upload=upload) for upload in stuck)}


# --- What S3 holds ---------------------------------------------------------------------------


def open_multipart_uploads(*, now: datetime) -> tuple[list, list]:
    """(orphans, closed): open multipart uploads that no row knows, and those of closed rows.

    An orphan younger than ``UPLOADS_ORPHAN_MIN_AGE`` is left alone: its row may be about to
    be committed by the request that created it.
    """
    listed = multipart.list_multipart_uploads(prefix=KEY_PREFIX)
    min_age = timedelta(seconds=settings.UPLOADS_ORPHAN_MIN_AGE)
    orphans, closed = [], []
    for start in range(0, len(listed), 500):
        batch = listed[start : start + 500]
        rows = {
            upload.s3_upload_id: upload
            for upload in Upload.objects.filter(key__in={item.key for item in batch})
        }
        for item in batch:
            upload = rows.get(item.upload_id)
            if upload is None:
                # A server that does not date its uploads gets none aborted as orphans.
                if item.initiated is not None and item.initiated <= now - min_age:
                    orphans.append(item)
            elif upload.state in CLOSED_STATES:
                closed.append((item, upload))
    return orphans, closed


def failed_objects(*, now: datetime) -> list[Upload]:
    """Failed uploads of the recent past whose object S3 still holds (a delete that failed)."""
    since = now - timedelta(seconds=settings.UPLOADS_CLEANUP_FAILED_WINDOW)
    found = []
    for upload in Upload.objects.filter(state=UploadState.FAILED, failed_at__gte=since):
        if objects.head_object(upload.key) is not None:
            found.append(upload)
    return found


def unattached_ready(*, now: datetime) -> list[Upload]:
    """Ready uploads that nothing attached within ``UPLOADS_UNATTACHED_GRACE`` (a form that was
    never sent): they count against their owner's quota and cost storage for nobody."""
    cutoff = now - timedelta(seconds=settings.UPLOADS_UNATTACHED_GRACE)
    return list(Upload.objects.unattached().filter(state=UploadState.READY, ready_at__lte=cutoff))


def upload_delete_unattached(*, upload: Upload, now: datetime) -> bool:
    """Delete the row (its objects follow on commit, see ``uploads.core.receivers``) if it is
    still ready, old enough and unattached; False when something attached it meanwhile."""
    cutoff = now - timedelta(seconds=settings.UPLOADS_UNATTACHED_GRACE)
    try:
        with transaction.atomic():
            found = (
                Upload.objects.unattached()
                .select_for_update(of=("self",))
                .filter(pk=upload.pk, state=UploadState.READY, ready_at__lte=cutoff)
                .first()
            )
            if found is None:
                return False
            found.delete()
    except IntegrityError:
        # Attached between the check and the delete: the relation (Django's ProtectedError or
        # RestrictedError, both IntegrityErrors) or the database's foreign key said no.
        return False
    except DatabaseError:
        logger.exception("could not delete unattached upload %s", upload.pk)
        return False
    return True


def cleanup_plan(*, now: datetime | None = None) -> CleanupPlan:
    now = now or timezone.now()
    orphans, closed = open_multipart_uploads(now=now)
    return CleanupPlan(
        now=now,
        stale=list(Upload.objects.filter(state=UploadState.UPLOADING, expires_at__lte=now)),
        stuck_completing=stuck_completing(now=now),
        stuck_processing=stuck_processing(now=now),
        awaiting_sha256=awaiting_sha256(now=now),
        orphans=orphans,
        closed=closed,
        failed_objects=failed_objects(now=now),
        unattached=unattached_ready(now=now),
    )


def cleanup_apply(plan: CleanupPlan) -> dict:
    """Carry the plan out; returns how many of each action were done."""
    expired = uploads_expire_stale(now=plan.now) if plan.stale else []
    done = {"expired": len(expired)}
    stuck = plan.stuck_completing + plan.stuck_processing + plan.awaiting_sha256
    done["requeued"] = sum(upload_requeue_stuck(upload=upload) for upload in stuck)
    done["orphans_aborted"] = _abort_all(plan.orphans)
    done["closed_aborted"] = _abort_all(item for item, _ in plan.closed)
    done["objects_deleted"] = sum(upload.delete_stored_objects() for upload in plan.failed_objects)
    done["unattached_deleted"] = sum(
        upload_delete_unattached(upload=upload, now=plan.now) for upload in plan.unattached
    )
    return done


def _abort_all(items) -> int:
    aborted = 0
    for item in items:
        try:
            multipart.abort_multipart_upload(key=item.key, upload_id=item.upload_id)
            aborted += 1
        except S3Error:
            logger.exception("could not abort multipart upload %s of %s", item.upload_id, item.key)
    return aborted


def uploads_cleanup_storage(*, now: datetime | None = None) -> dict:
    """The periodic storage sweep: orphans, multipart uploads of closed rows, failed objects,
    ready uploads never attached."""
    now = now or timezone.now()
    orphans, closed = open_multipart_uploads(now=now)
    plan = CleanupPlan(
        now=now,
        orphans=orphans,
        closed=closed,
        failed_objects=failed_objects(now=now),
        unattached=unattached_ready(now=now),
    )
    return cleanup_apply(plan)
