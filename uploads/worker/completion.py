"""The worker's half of completion: S3 assembles the parts into the object.

For thousands of parts S3 may take longer than a web request should, so the web request only
checks the parts (``uploads.api.services.upload_complete``) and the worker completes.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from uploads.core import progress
from uploads.core.models import Upload, UploadPart, UploadState
from uploads.core.parts import describe, held_parts, problems_with
from uploads.core.progress import UploadStage
from uploads.core.signals import upload_stage_entered
from uploads.storage import multipart, objects
from uploads.storage.connection import S3Error

logger = logging.getLogger("uploads")

# S3's answers that say the parts are not what was signed: retrying cannot help.
_REFUSALS = (
    "InvalidPart",
    "InvalidPartOrder",
    "BadDigest",
    "InvalidDigest",
    "EntityTooSmall",
    "NoSuchUpload",
)


def upload_finish_completion(*, upload: Upload) -> Upload:
    """CompleteMultipartUpload with every part's ETag and SHA-256, a HeadObject check of the
    object's size and of the checksum S3 computed from its parts, then COMPLETING → PROCESSING
    (or FAILED).

    Safe to run again after a crash at any point: an object S3 already completed is recognised
    by its size and completion carries on from there.
    """
    if upload.state != UploadState.COMPLETING:
        return upload
    records = dict(
        UploadPart.objects.filter(upload=upload).values_list("part_number", "checksum_sha256")
    )
    held_list = held_parts(upload, recent=True)
    problems = problems_with(upload, held_list, {}) if held_list else {}
    if problems and not _object_is_whole(upload):
        # The parts changed after the web request checked them (a part re-sent meanwhile).
        upload.fail(f"The parts changed during completion: {describe(problems)}.")
        return upload
    held = {part.part_number: part for part in held_list}
    progress.set_stage(upload.pk, UploadStage.COMPLETING)
    upload_stage_entered.send(sender=Upload, upload=upload, stage=UploadStage.COMPLETING)
    try:
        multipart.complete_multipart_upload(
            key=upload.key,
            upload_id=upload.s3_upload_id,
            parts=[
                {"PartNumber": n, "ETag": f'"{held[n].etag}"', "ChecksumSHA256": records[n]}
                for n in range(1, upload.part_count + 1)
            ],
        )
    except (S3Error, KeyError) as exc:
        if not _object_is_whole(upload):
            return _completion_failed_at_s3(upload, exc)
        # A previous attempt completed on S3 but died before recording it: carry on.

    head = objects.head_object(upload.key, checksums=True)
    if head is None or head["ContentLength"] != upload.size:
        found = "no object" if head is None else f"{head['ContentLength']:,} bytes"
        upload.fail(f"S3 holds {found} where {upload.size:,} bytes were planned.")
        return upload
    signed = [records.get(n) for n in range(1, upload.part_count + 1)]
    expected = composite_sha256(signed) if all(signed) else None
    held_checksum = head.get("ChecksumSHA256")
    # S3 refuses at completion a listed checksum that differs from its part's, so this only
    # fails on an S3 that does not check that list: its object is then not the parts signed.
    # An S3 that keeps no checksum for the object (AWS and SeaweedFS both keep one) leaves
    # the proof to the parts' checks.
    if held_checksum and expected and held_checksum != expected:
        upload.fail(
            "S3 assembled an object whose checksum is not that of the parts signed "
            f"({held_checksum} where {expected} was expected)."
        )
        return upload
    if upload.transition(source=UploadState.COMPLETING, target=UploadState.PROCESSING):
        progress.write(upload.pk, stage=UploadStage.VERIFYING.value, bytes_uploaded=upload.size)
    else:
        upload.refresh_from_db()
    return upload


def composite_sha256(part_checksums: list[str]) -> str:
    """The checksum S3 gives a multipart object created with ``ChecksumAlgorithm=SHA256``:
    the SHA-256 of the parts' SHA-256 digests in part order, base64, then ``-`` and the count."""
    joined = b"".join(base64.b64decode(checksum) for checksum in part_checksums)
    digest = base64.b64encode(hashlib.sha256(joined).digest()).decode()
    return f"{digest}-{len(part_checksums)}"


def _object_is_whole(upload: Upload) -> bool:
    head = objects.head_object(upload.key)
    return head is not None and head["ContentLength"] == upload.size


def _completion_failed_at_s3(upload: Upload, exc: Exception) -> Upload:
    code = getattr(exc, "code", "")
    logger.warning("CompleteMultipartUpload failed for %s: %s", upload.pk, exc)
    if code in _REFUSALS or isinstance(exc, KeyError):
        # S3 says the parts are not what was signed, or no longer knows the upload: nothing
        # half-right may become an object, so the upload ends here with S3's reason.
        upload.fail(f"S3 refused to assemble the parts ({code or 'a part is missing'}).")
        return upload
    raise exc  # a passing failure: the task retries with backoff while the upload stays completing
