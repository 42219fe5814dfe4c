"""Adoption: an object that already sits on S3 (in another bucket of the same S3) becomes an
Upload, copied server-side into the engine's key layout and handed to the worker, which verifies
it like any upload (size, type sniffing, SHA-256, renditions) before it is ready.

For operators moving files in from elsewhere (a site being replaced); runs in their process, not
in a web request. A file that cannot be adopted (missing, refused by its purpose) still becomes an
Upload, a failed one carrying the reason, so that whoever asked has a row to point at and a
sentence to report.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from uploads.conf import settings
from uploads.core import purposes
from uploads.core.dispatch import enqueue_processing
from uploads.core.models import Upload, UploadState
from uploads.core.names import display_name
from uploads.core.plan import PlanError, plan_parts
from uploads.core.signals import upload_state_changed
from uploads.storage import objects
from uploads.storage.connection import S3Error

logger = logging.getLogger("uploads")


def upload_adopt(
    *,
    owner,
    purpose: str,
    filename: str,
    source_bucket: str,
    source_key: str,
    upload_id: uuid.UUID | None = None,
) -> Upload:
    """Copy ``source_bucket/source_key`` into an Upload of ``purpose`` owned by ``owner``.

    Returns the upload in ``processing`` (enqueued for the worker once the caller's transaction
    commits) or ``failed`` with the reason. ``upload_id`` makes the key predictable, so that a
    caller that dies after the copy and runs again overwrites the same object.
    """
    upload_id = upload_id or uuid.uuid4()
    policy = purposes.get(purpose)
    name = display_name(filename)
    key = policy.key_for(upload_id, name)
    served_type = policy.served_type(name)
    head = objects.head_object_in(source_bucket, source_key)
    size = head["ContentLength"] if head else 0
    reason = _refusal(policy, name, size, head is not None, source_key)
    if reason is None:
        try:
            objects.copy_object(
                source_bucket=source_bucket,
                source_key=source_key,
                key=key,
                size=size,
                content_type=served_type,
                filename=name,
            )
        except S3Error as exc:
            reason = f"S3 could not copy {source_key}: {exc}"
    plan = plan_parts(max(size, 1), preferred_part_size=policy.preferred_part_size)
    now = timezone.now()
    state = UploadState.FAILED if reason else UploadState.PROCESSING
    with transaction.atomic():
        upload = Upload.objects.create(
            id=upload_id,
            owner=owner,
            purpose=policy.name,
            filename=name,
            key=key,
            size=size,
            content_type=served_type,
            part_size=plan.part_size,
            part_count=plan.part_count,
            state=state,
            created_at=now,
            completing_at=now,
            processing_at=now,
            failed_at=now if reason else None,
            error=reason or "",
            expires_at=now + timedelta(seconds=settings.UPLOADS_EXPIRE_AFTER),
        )
        upload_state_changed.send(sender=Upload, upload=upload, source=None, target=state)
        if not reason:
            enqueue_processing(upload)
    return upload


def _refusal(policy, name: str, size: int, exists: bool, source_key: str) -> str | None:
    if not exists:
        return f"{source_key} is not in the source bucket."
    if size <= 0:
        return f"{source_key} is empty."
    if size > policy.max_size:
        return f"{source_key} is {size:,} bytes; {policy.name} files may be at most {policy.max_size:,}."
    try:
        policy.check(filename=name, size=size, content_type=policy.served_type(name))
        plan_parts(size, preferred_part_size=policy.preferred_part_size)
    except (purposes.PurposeError, PlanError) as exc:
        return f"{source_key}: {exc}"
    return None
