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

from django.db import transaction
from django.utils import timezone

from uploads.core import purposes
from uploads.core.dispatch import enqueue_processing
from uploads.core.errors import UploadError
from uploads.core.intake import check_file, create_upload
from uploads.core.models import Upload, UploadState
from uploads.core.names import display_name
from uploads.core.plan import plan_parts
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
    name = display_name(filename) or "file"
    key = policy.key_for(upload_id, name)
    served_type = policy.served_type(name)
    head = objects.head_object_in(source_bucket, source_key)
    size = head["ContentLength"] if head else 0
    plan, reason = None, None
    if head is None:
        reason = f"{source_key} is not in the source bucket."
    else:
        try:
            plan = check_file(policy, name=name, size=size, content_type=served_type)
        except UploadError as exc:
            reason = f"{source_key}: {exc.detail}"
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
    # A refused file's row still records a plan, of the parts it would have had.
    plan = plan or plan_parts(max(size, 1), preferred_part_size=policy.preferred_part_size)
    now = timezone.now()
    with transaction.atomic():
        upload = create_upload(
            upload_id=upload_id,
            owner=owner,
            policy=policy,
            name=name,
            key=key,
            size=size,
            content_type=served_type,
            plan=plan,
            state=UploadState.FAILED if reason else UploadState.PROCESSING,
            now=now,
            completing_at=now,
            processing_at=now,
            failed_at=now if reason else None,
            error=reason or "",
        )
        if not reason:
            enqueue_processing(upload)
    return upload
