"""The engine's writes. Plain functions, keyword-only arguments, no HTTP.

Rules kept everywhere here: a state change is one conditional UPDATE whose row count says who
won; no S3 call happens inside a database transaction; tasks are enqueued on commit.
"""

from __future__ import annotations

import base64
import binascii
import logging
import posixpath
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from uploads import progress, purposes, s3
from uploads._plan import PlanError, plan_parts
from uploads.errors import (
    InvalidUpload,
    PartsNotReady,
    StorageUnavailable,
    TooLarge,
    TooManyOpenUploads,
    WrongState,
)
from uploads.models import STATE_TIME_FIELD, Upload, UploadPart, UploadState
from uploads.signals import upload_state_changed

logger = logging.getLogger("uploads")

MAX_PARTS_PER_SIGNING = 100


# --- Transitions ---------------------------------------------------------------------------


def transition(upload: Upload, *, source, target, **fields) -> bool:
    """Move ``upload`` from ``source`` (a state or tuple of states) to ``target``.

    One conditional UPDATE: True when this caller made the change, False when the upload was not
    in ``source`` any more. On success ``upload`` is refreshed with the new values.
    """
    sources = (source,) if isinstance(source, str) else tuple(source)
    now = timezone.now()
    values = {"state": target, STATE_TIME_FIELD[target]: now, **fields}
    won = Upload.objects.filter(pk=upload.pk, state__in=sources).update(**values) == 1
    if won:
        previous = upload.state
        for name, value in values.items():
            setattr(upload, name, value)
        upload_state_changed.send(sender=Upload, upload=upload, source=previous, target=target)
    return won


# --- Create --------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(filename: str) -> str:
    """A key-safe version of the name: ASCII letters, digits, dot, dash and underscore."""
    name = posixpath.basename(filename.replace("\\", "/"))
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem, extension = posixpath.splitext(name)
    stem = _UNSAFE.sub("-", stem).strip("-.") or "file"
    extension = _UNSAFE.sub("", extension)[:20]
    return f"{stem[:100]}{extension}"


def display_filename(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    if not name or name in (".", ".."):
        raise InvalidUpload("The file needs a name.", field="filename")
    if len(name) > 255:
        raise InvalidUpload("The file name is longer than 255 characters.", field="filename")
    return name


def upload_create(*, owner, filename: str, size: int, content_type: str, purpose: str) -> Upload:
    try:
        policy = purposes.get(purpose)
    except purposes.PurposeError as exc:
        raise InvalidUpload(str(exc), field="purpose") from None
    name = display_filename(filename)
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
        plan = plan_parts(size, preferred_part_size=policy.preferred_part_size)
    except (purposes.PurposeError, PlanError) as exc:
        raise InvalidUpload(str(exc)) from None

    open_uploads = Upload.objects.filter(
        owner=owner, state=UploadState.UPLOADING, expires_at__gt=timezone.now()
    ).count()
    if open_uploads >= settings.UPLOADS_MAX_OPEN_PER_USER:
        raise TooManyOpenUploads(
            f"You have {open_uploads} unfinished uploads; finish or cancel one first."
        )

    upload_id = uuid.uuid4()
    prefix = policy.key_prefix or policy.name
    key = f"uploads/{prefix}/{upload_id}/{safe_filename(name)}"
    served_type = policy.served_type(name)
    try:
        s3_upload_id = s3.create_multipart_upload(key=key, content_type=served_type, filename=name)
    except s3.S3Error as exc:
        logger.error("CreateMultipartUpload failed: %s", exc)
        raise StorageUnavailable("Storage is unavailable right now; try again shortly.") from exc

    now = timezone.now()
    try:
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
            s3_upload_id=s3_upload_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.UPLOADS_EXPIRE_AFTER),
        )
    except Exception:
        # No row will ever know this multipart upload: abort it rather than orphan it.
        s3.abort_multipart_upload(key=key, upload_id=s3_upload_id)
        raise
    upload_state_changed.send(sender=Upload, upload=upload, source=None, target=upload.state)
    return upload


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
        raise WrongState(f"This upload is {upload.state}; parts can no longer be sent.", state=upload.state)
    if upload.expires_at <= timezone.now():
        raise WrongState("This upload has expired; start a new one.", state="expired")


def upload_sign_parts(*, upload: Upload, parts: list[PartRequest]) -> list[s3.SignedPart]:
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

    now = timezone.now()
    UploadPart.objects.bulk_create(
        [
            UploadPart(
                upload=upload,
                part_number=part.part_number,
                checksum_sha256=part.checksum_sha256,
                content_md5=part.content_md5,
                signed_at=now,
            )
            for part in parts
        ],
        update_conflicts=True,
        unique_fields=["upload", "part_number"],
        update_fields=["checksum_sha256", "content_md5", "signed_at"],
    )
    return [
        s3.sign_part(
            key=upload.key,
            upload_id=upload.s3_upload_id,
            part_number=part.part_number,
            size=plan.part_length(part.part_number),
            checksum_sha256=part.checksum_sha256,
            content_md5=part.content_md5,
        )
        for part in parts
    ]


# --- Parts as S3 holds them ----------------------------------------------------------------


@dataclass(frozen=True)
class HeldPart:
    """A part S3 holds, with what the server knows of its content."""

    part_number: int
    size: int
    etag: str
    checksum_sha256: str  # as last signed; "" when never signed
    signed_md5: str  # hex MD5 signed with that checksum; "" when the client sent none

    @property
    def verified(self) -> bool:
        """S3's ETag (the part's MD5) is the MD5 signed with the checksum: content proven."""
        return bool(self.signed_md5) and self.signed_md5 == self.etag

    @property
    def contradicts_signature(self) -> bool:
        return bool(self.signed_md5) and self.signed_md5 != self.etag


def held_parts(upload: Upload) -> list[HeldPart]:
    """ListParts, joined with the signed checksums (one S3 call per 1,000 parts)."""
    try:
        listed = s3.list_parts(key=upload.key, upload_id=upload.s3_upload_id)
    except s3.S3Error as exc:
        if exc.code == "NoSuchUpload":
            return []
        raise StorageUnavailable("Storage is unavailable right now; try again shortly.") from exc
    # Tuples, not model instances: a 10,000-part upload has 10,000 records.
    signed = {
        number: (checksum, base64.b64decode(md5).hex() if md5 else "")
        for number, checksum, md5 in UploadPart.objects.filter(upload=upload).values_list(
            "part_number", "checksum_sha256", "content_md5"
        )
    }
    held: dict[int, HeldPart] = {}
    for part in listed:
        checksum, md5_hex = signed.get(part.part_number, ("", ""))
        candidate = HeldPart(
            part_number=part.part_number,
            size=part.size,
            etag=part.etag,
            checksum_sha256=checksum,
            signed_md5=md5_hex,
        )
        # SeaweedFS lists a part sent twice once per upload of it (AWS keeps only the latest);
        # the copy whose ETag is the signed MD5 is the content the last signature was for.
        earlier = held.get(part.part_number)
        if earlier is None or not earlier.verified:
            held[part.part_number] = candidate
    return list(held.values())


def _problems_with(upload: Upload, held: list[HeldPart], client_etags: dict[int, str]) -> dict:
    """Every way the held parts differ from the plan; empty when the upload can complete."""
    plan = upload.plan
    by_number = {part.part_number: part for part in held}
    problems: dict[str, list[int]] = {
        "missing_parts": [n for n in range(1, plan.part_count + 1) if n not in by_number],
        "wrong_size_parts": [],
        "mismatched_parts": [],
        "unexpected_parts": [],
    }
    for part in held:
        if part.part_number > plan.part_count:
            problems["unexpected_parts"].append(part.part_number)
        elif part.size != plan.part_length(part.part_number):
            problems["wrong_size_parts"].append(part.part_number)
        elif (
            not part.checksum_sha256
            or part.contradicts_signature
            or client_etags.get(part.part_number, part.etag).strip('"') != part.etag
        ):
            problems["mismatched_parts"].append(part.part_number)
    return {name: numbers for name, numbers in problems.items() if numbers}


def _describe(problems: dict) -> str:
    words = {
        "missing_parts": "missing",
        "wrong_size_parts": "of the wrong size",
        "mismatched_parts": "not the content that was signed",
        "unexpected_parts": "outside the plan",
    }
    return "; ".join(
        f"part{'s' if len(numbers) > 1 else ''} {_number_list(numbers)} {words[name]}"
        for name, numbers in problems.items()
    )


def _number_list(numbers: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


# --- Complete ------------------------------------------------------------------------------


def upload_complete(*, upload: Upload, client_etags: dict[int, str] | None = None) -> Upload:
    """Check with S3 that every planned part arrived, then hand the upload to the worker.

    CompleteMultipartUpload itself runs on the worker (``upload_finish_completion``): for
    thousands of parts S3 may take longer than a web request should. Idempotent: of concurrent
    callers one moves the upload to completing and enqueues one task; every caller then answers
    with the upload as it is, past uploading.
    """
    if upload.state in (UploadState.ABORTED, UploadState.EXPIRED):
        raise WrongState(f"This upload was {upload.state}; it cannot be completed.", state=upload.state)
    if upload.state != UploadState.UPLOADING:
        return upload  # completing, processing, ready or failed: completion is under way or done

    problems = _problems_with(upload, held_parts(upload), client_etags or {})
    if problems:
        raise PartsNotReady(f"This upload cannot be completed yet: {_describe(problems)}.", **problems)

    with transaction.atomic():
        if transition(upload, source=UploadState.UPLOADING, target=UploadState.COMPLETING):
            progress.write(upload.pk, stage="completing", bytes_uploaded=upload.size)
            enqueue_processing(upload)
            return upload
    upload.refresh_from_db()
    return upload


def upload_finish_completion(*, upload: Upload) -> Upload:
    """The worker's half of completion: CompleteMultipartUpload with every part's ETag and
    SHA-256, a HeadObject size check, then COMPLETING → PROCESSING (or FAILED).

    Safe to run again after a crash at any point: an object S3 already completed is recognised
    by its size and completion carries on from there.
    """
    if upload.state != UploadState.COMPLETING:
        return upload
    records = dict(
        UploadPart.objects.filter(upload=upload).values_list("part_number", "checksum_sha256")
    )
    held_list = held_parts(upload)
    problems = _problems_with(upload, held_list, {}) if held_list else {}
    if problems and not _object_is_whole(upload):
        # The parts changed after the web request checked them (a part re-sent meanwhile).
        return upload_fail(
            upload=upload, reason=f"The parts changed during completion: {_describe(problems)}."
        )
    held = {part.part_number: part for part in held_list}
    try:
        s3.complete_multipart_upload(
            key=upload.key,
            upload_id=upload.s3_upload_id,
            parts=[
                {"PartNumber": n, "ETag": f'"{held[n].etag}"', "ChecksumSHA256": records[n]}
                for n in range(1, upload.part_count + 1)
            ],
        )
    except (s3.S3Error, KeyError) as exc:
        if not _object_is_whole(upload):
            return _completion_failed_at_s3(upload, exc)
        # A previous attempt completed on S3 but died before recording it: carry on.

    head = s3.head_object(upload.key)
    if head is None or head["ContentLength"] != upload.size:
        found = "no object" if head is None else f"{head['ContentLength']:,} bytes"
        return upload_fail(upload=upload, reason=f"S3 holds {found} where {upload.size:,} bytes were planned.")
    if transition(upload, source=UploadState.COMPLETING, target=UploadState.PROCESSING):
        progress.write(upload.pk, stage="verifying", bytes_uploaded=upload.size)
    else:
        upload.refresh_from_db()
    return upload


def _object_is_whole(upload: Upload) -> bool:
    head = s3.head_object(upload.key)
    return head is not None and head["ContentLength"] == upload.size


def _completion_failed_at_s3(upload: Upload, exc: Exception) -> Upload:
    code = getattr(exc, "code", "")
    logger.warning("CompleteMultipartUpload failed for %s: %s", upload.pk, exc)
    refusals = ("InvalidPart", "InvalidPartOrder", "BadDigest", "InvalidDigest", "EntityTooSmall")
    if code in (*refusals, "NoSuchUpload") or isinstance(exc, KeyError):
        # S3 says the parts are not what was signed, or no longer knows the upload: nothing
        # half-right may become an object, so the upload ends here with S3's reason.
        return upload_fail(
            upload=upload, reason=f"S3 refused to assemble the parts ({code or 'a part is missing'})."
        )
    raise exc  # a passing failure: the task retries with backoff while the upload stays completing


def enqueue_processing(upload: Upload) -> None:
    """Hand the upload to the worker once the transaction that moved it has committed."""
    upload_id = str(upload.pk)

    def send():
        from uploads.tasks import process_upload  # tasks import this module

        try:
            process_upload.delay(upload_id)
        except Exception:
            # The broker is down: the upload stays where it is and the periodic sweep of
            # stuck uploads enqueues it again, so the uploader still gets an answer.
            logger.exception("could not enqueue processing of %s", upload_id)

    transaction.on_commit(send)


# --- Abort, fail, expire -------------------------------------------------------------------


def upload_abort(*, upload: Upload) -> Upload:
    if upload.state == UploadState.ABORTED:
        return upload
    if not transition(upload, source=UploadState.UPLOADING, target=UploadState.ABORTED):
        upload.refresh_from_db()
        if upload.state == UploadState.ABORTED:
            return upload
        raise WrongState(f"This upload is {upload.state}; it can no longer be cancelled.", state=upload.state)
    _abort_on_s3(upload)
    return upload


def _abort_on_s3(upload: Upload) -> None:
    try:
        s3.abort_multipart_upload(key=upload.key, upload_id=upload.s3_upload_id)
    except s3.S3Error:
        # The orphan sweep aborts multipart uploads whose row is no longer open; the bucket's
        # lifecycle rule is the last backstop.
        logger.exception("could not abort %s on S3; the sweep will retry", upload.pk)


def upload_fail(*, upload: Upload, reason: str) -> Upload:
    """End the upload as failed and delete whatever S3 holds for it."""
    transition(
        upload,
        source=(UploadState.UPLOADING, UploadState.COMPLETING, UploadState.PROCESSING),
        target=UploadState.FAILED,
        error=reason,
    )
    upload.refresh_from_db()
    progress.write(upload.pk, stage="failed")
    try:
        s3.delete_object(upload.key)
    except s3.S3Error:
        logger.exception("could not delete the object of failed upload %s", upload.pk)
    return upload


def uploads_expire_stale(*, now=None) -> list[Upload]:
    """Abort on S3 and mark expired every upload left open past its expiry."""
    now = now or timezone.now()
    expired = []
    for upload in Upload.objects.filter(state=UploadState.UPLOADING, expires_at__lte=now):
        if transition(upload, source=UploadState.UPLOADING, target=UploadState.EXPIRED):
            _abort_on_s3(upload)
            expired.append(upload)
    return expired
