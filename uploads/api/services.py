"""The engine's writes that run in a web request: create, sign, complete, abort.

Plain functions, keyword-only arguments, no HTTP. A state change is one conditional UPDATE whose
row count says who won (``Upload.transition``); no S3 call happens inside a database
transaction; the worker is handed what is slow, on commit.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from uploads.conf import settings
from uploads.core import progress, purposes, quota
from uploads.core.dispatch import enqueue_processing
from uploads.core.errors import (
    InvalidUpload,
    PartsNotReady,
    StorageUnavailable,
    TooManyOpenUploads,
    WrongState,
)
from uploads.core.intake import check_file, create_upload
from uploads.core.models import Upload, UploadPart, UploadState
from uploads.core.names import display_name
from uploads.core.parts import describe, held_parts, problems_with
from uploads.core.plan import MAX_PARTS
from uploads.core.progress import UploadStage
from uploads.storage import multipart, presign
from uploads.storage.connection import S3Error

logger = logging.getLogger("uploads")

# Signed URLs per call: enough for a fast client to stay ahead, few enough that one call stays
# cheap. Served to clients with the purposes.
MAX_PARTS_PER_SIGNING = 100
# A client's count of part transfers it sent again: a hundred per part of the largest plan is
# more than any honest client reaches (each retry waits), and keeps the analytics' sums sane.
MAX_PARTS_RETRIED = 100 * MAX_PARTS


# --- Create --------------------------------------------------------------------------------


def upload_create(
    *,
    owner,
    filename: str,
    size: int,
    content_type: str,
    purpose: str,
    round_trip_ms: int | None = None,
) -> Upload:
    try:
        policy = purposes.get(purpose)
    except purposes.PurposeError as exc:
        raise InvalidUpload(str(exc), field="purpose") from None
    name = display_name(filename)
    if name is None:
        raise InvalidUpload("The file needs a name.", field="filename")
    plan = check_file(
        policy, name=name, size=size, content_type=content_type, round_trip_ms=round_trip_ms
    )

    upload_id = uuid.uuid4()
    key = policy.key_for(upload_id, name)
    served_type = policy.served_type(name)
    try:
        s3_upload_id = multipart.create_multipart_upload(
            key=key, content_type=served_type, filename=name
        )
    except S3Error as exc:
        logger.error("CreateMultipartUpload failed: %s", exc)
        raise StorageUnavailable("Storage is unavailable right now; try again shortly.") from exc

    try:
        with transaction.atomic():
            # Checked with the owner's row locked, so that two uploads started at once cannot
            # both fit in the room left for one. Checked here only: a refused request costs a
            # CreateMultipartUpload and its abort, every accepted one a query less.
            list(get_user_model().objects.select_for_update().filter(pk=owner.pk).values("pk"))
            held = quota.holdings(owner)
            if held.open_uploads >= settings.UPLOADS_MAX_OPEN_PER_USER:
                raise TooManyOpenUploads(
                    f"You have {held.open_uploads} unfinished uploads; finish or cancel one first."
                )
            quota.check_quota(owner, size, used=held.bytes_held)
            return create_upload(
                upload_id=upload_id,
                owner=owner,
                policy=policy,
                name=name,
                key=key,
                size=size,
                content_type=served_type,
                plan=plan,
                s3_upload_id=s3_upload_id,
            )
    except Exception:
        # No row will ever know this multipart upload: abort it rather than orphan it.
        multipart.abort_multipart_upload(key=key, upload_id=s3_upload_id)
        raise


# --- Sign ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartRequest:
    part_number: int
    checksum_sha256: str
    content_md5: str = ""


def _check_base64_digest(value: str, length: int, name: str, part_number: int) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise InvalidUpload(
            f"Part {part_number}: {name} must be the base64 of a {length}-byte digest.",
            field="parts",
        )


def _require_open(upload: Upload) -> None:
    if upload.state != UploadState.UPLOADING:
        raise WrongState(
            f"This upload is {upload.state}; parts can no longer be sent.", state=upload.state
        )
    if upload.expires_at <= timezone.now():
        raise WrongState("This upload has expired; start a new one.", state="expired")


def upload_sign_parts(*, upload: Upload, parts: list[PartRequest]) -> list[presign.SignedPart]:
    if not parts:
        raise InvalidUpload("Ask for at least one part.", field="parts")
    if len(parts) > MAX_PARTS_PER_SIGNING:
        raise InvalidUpload(
            f"Ask for at most {MAX_PARTS_PER_SIGNING} parts at a time.", field="parts"
        )
    numbers = [part.part_number for part in parts]
    if len(set(numbers)) != len(numbers):
        raise InvalidUpload("Each part may be asked for once per call.", field="parts")
    plan = upload.plan
    for part in parts:
        if not 1 <= part.part_number <= plan.part_count:
            raise InvalidUpload(
                f"Part {part.part_number} is outside this upload's plan of "
                f"{plan.part_count} parts.",
                field="parts",
            )
        _check_base64_digest(part.checksum_sha256, 32, "checksum_sha256", part.part_number)
        if part.content_md5:
            _check_base64_digest(part.content_md5, 16, "content_md5", part.part_number)
    _require_open(upload)

    UploadPart.objects.pin(
        upload,
        [(part.part_number, part.checksum_sha256, part.content_md5) for part in parts],
        signed_at=timezone.now(),
    )
    return [
        presign.sign_part(
            key=upload.key,
            upload_id=upload.s3_upload_id,
            part_number=part.part_number,
            size=plan.part_length(part.part_number),
            checksum_sha256=part.checksum_sha256,
            content_md5=part.content_md5,
        )
        for part in parts
    ]


# --- Complete ------------------------------------------------------------------------------


def upload_complete(
    *,
    upload: Upload,
    client_etags: dict[int, str] | None = None,
    parts_retried: int | None = None,
    resumed: bool | None = None,
) -> Upload:
    """Check with S3 that every planned part arrived, then hand the upload to the worker.

    CompleteMultipartUpload itself runs on the worker (``uploads.worker.completion``): for
    thousands of parts S3 may take longer than a web request should. Idempotent: of concurrent
    callers one moves the upload to completing and enqueues one task; every caller then answers
    with the upload as it is, past uploading.
    """
    if upload.state in (UploadState.ABORTED, UploadState.EXPIRED):
        raise WrongState(
            f"This upload was {upload.state}; it cannot be completed.", state=upload.state
        )
    if upload.state != UploadState.UPLOADING:
        return upload  # completing, processing, ready or failed: completion is under way or done

    problems = problems_with(upload, held_parts(upload), client_etags or {})
    if problems:
        raise PartsNotReady(
            f"This upload cannot be completed yet: {describe(problems)}.", **problems
        )

    # The transition is one statement that commits on its own (no transaction around it: two
    # round trips fewer), so the task enqueued after it always finds the row completing.
    counters = client_counters(upload, parts_retried=parts_retried, resumed=resumed)
    if upload.transition(source=UploadState.UPLOADING, target=UploadState.COMPLETING, **counters):
        progress.write(upload.pk, stage=UploadStage.COMPLETING.value, bytes_uploaded=upload.size)
        enqueue_processing(upload)
        return upload
    upload.refresh_from_db()
    return upload


def client_counters(
    upload: Upload, *, parts_retried: int | None = None, resumed: bool | None = None
) -> dict:
    """What the client reported of its trouble, for the upload's row as it ends: told in this
    call, or earlier in its progress reports (kept in the cache until then, so that progress
    never writes a row). Counts only grow: a run that resumes starts its own count at 0."""
    record = progress.read(upload.pk)
    try:
        reported = min(int(record.get("parts_retried") or 0), MAX_PARTS_RETRIED)
    except (TypeError, ValueError):
        reported = 0
    return {
        "parts_retried": max(upload.parts_retried, parts_retried or 0, reported),
        "resumed": bool(upload.resumed or resumed or record.get("resumed")),
    }


def upload_report_progress(
    *,
    upload: Upload,
    bytes_uploaded: int,
    parts_retried: int | None = None,
    resumed: bool | None = None,
) -> None:
    """The uploader's heartbeat, kept in the cache only; ignored once the bytes have arrived."""
    if upload.state != UploadState.UPLOADING:
        return
    fields = {"bytes_uploaded": min(bytes_uploaded, upload.size)}
    if parts_retried is not None:
        fields["parts_retried"] = parts_retried
    if resumed:
        fields["resumed"] = True
    progress.write(upload.pk, stage=UploadStage.UPLOADING.value, **fields)


# --- Abort ---------------------------------------------------------------------------------


def upload_abort(*, upload: Upload) -> Upload:
    if upload.state == UploadState.ABORTED:
        return upload
    counters = client_counters(upload)
    if not upload.transition(source=UploadState.UPLOADING, target=UploadState.ABORTED, **counters):
        upload.refresh_from_db()
        if upload.state == UploadState.ABORTED:
            return upload
        raise WrongState(
            f"This upload is {upload.state}; it can no longer be cancelled.", state=upload.state
        )
    upload.abort_multipart_upload()
    return upload
