"""How a file becomes an Upload, whichever way it arrives (the API's create, an operator's
adoption of an object already on S3): the rules it must meet for its purpose, and the row with
the signal of its first state."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from uploads.conf import settings
from uploads.core import purposes
from uploads.core.errors import InvalidUpload, TooLarge
from uploads.core.models import Upload, UploadState
from uploads.core.plan import PartPlan, PlanError, link_part_size, plan_parts
from uploads.core.signals import upload_state_changed


def check_file(
    policy: purposes.Purpose,
    *,
    name: str,
    size: int,
    content_type: str,
    round_trip_ms: int | None = None,
) -> PartPlan:
    """The part plan of a file ``policy`` accepts (its parts larger the farther a client
    ``round_trip_ms`` away is); ``InvalidUpload`` or ``TooLarge``, with a sentence for the
    uploader, when it does not."""
    if size <= 0:
        raise InvalidUpload("An empty file cannot be uploaded.", field="size")
    if size > policy.max_size:
        raise TooLarge(
            f"This file is {size:,} bytes; {policy.name} files may be at most "
            f"{policy.max_size:,} bytes.",
            field="size",
            max_size=policy.max_size,
        )
    try:
        policy.check(filename=name, size=size, content_type=content_type)
        part_size = link_part_size(size, policy.preferred_part_size, round_trip_ms)
        return plan_parts(size, preferred_part_size=part_size)
    except (purposes.PurposeError, PlanError) as exc:
        raise InvalidUpload(str(exc)) from None


def create_upload(
    *,
    upload_id: uuid.UUID,
    owner,
    policy: purposes.Purpose,
    name: str,
    key: str,
    size: int,
    content_type: str,
    plan: PartPlan,
    state: str = UploadState.UPLOADING,
    now=None,
    **fields,
) -> Upload:
    """The row of a file of ``size`` bytes stored at ``key``, served as ``content_type``,
    entering ``state`` (``fields`` are the rest: the times of the states it went through, an
    error…); then ``upload_state_changed`` from no state. Called inside the caller's transaction,
    so that a receiver that fails leaves no row behind."""
    now = now or timezone.now()
    upload = Upload.objects.create(
        id=upload_id,
        owner=owner,
        purpose=policy.name,
        filename=name,
        key=key,
        size=size,
        content_type=content_type,
        part_size=plan.part_size,
        part_count=plan.part_count,
        state=state,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.UPLOADS_EXPIRE_AFTER),
        **fields,
    )
    upload_state_changed.send(sender=Upload, upload=upload, source=None, target=state)
    return upload
