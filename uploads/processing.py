"""What the worker does with a completed upload: verify it, run its purpose's processing.

Every function here may run twice for the same upload (a redelivered task, a re-enqueued stuck
upload, two deliveries at once): each writes the same keys with the same bytes, and only one
caller wins the final transition.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import time

from django.conf import settings
from django.core.cache import caches

from uploads import progress, purposes, s3
from uploads._images import ImageRejected, make_renditions
from uploads.models import Upload, UploadState
from uploads.services import transition, upload_finish_completion
from uploads.sniff import HEAD_BYTES, TAIL_BYTES, Sample

logger = logging.getLogger("uploads")

ATTEMPTS_KEY_PREFIX = "uploads:attempts:"
# Renditions live in a folder beside the original: a user's file can never be named like them,
# since a safe filename has no slash.
RENDITIONS_FOLDER = "renditions"


class ProcessingError(Exception):
    """The object is not acceptable for its purpose; the message is shown to the uploader."""


def upload_process(*, upload: Upload) -> Upload:
    """Verify the completed object and run its purpose's processing; ends ready or failed.

    Verification: the size S3 holds is the planned size (HeadObject); the first and last bytes
    match what the purpose accepts under the file's name (the purpose's ``sniff``); the SHA-256,
    streamed in ranged reads with constant memory, is stored on the upload. Then the purpose's
    ``process`` hook runs, and what it returns becomes ``Upload.result``.
    """
    if upload.state == UploadState.COMPLETING:
        upload = upload_finish_completion(upload=upload)
    if upload.state != UploadState.PROCESSING:
        return upload
    attempt = _count_attempt(upload)
    if attempt > settings.UPLOADS_MAX_PROCESSING_ATTEMPTS:
        # Each earlier delivery died without an answer (a worker killed, out of memory): a file
        # that kills workers must not be handed to them for ever.
        return _fail(upload, f"This file could not be processed after {attempt - 1} attempts.")
    meter = _Meter()
    try:
        policy = purposes.get(upload.purpose)
        _stage(upload, "verifying")
        head = s3.head_object(upload.key)
        if head is None:
            raise ProcessingError("The stored file is missing.")
        if head["ContentLength"] != upload.size:
            raise ProcessingError(
                f"The stored file is {head['ContentLength']:,} bytes where {upload.size:,} "
                "were uploaded."
            )
        if policy.sniff is not None:
            reason = policy.sniff(sample_of(upload))
            if reason:
                raise ProcessingError(reason)
        sha256 = s3.sha256_of_object(
            upload.key,
            upload.size,
            on_progress=lambda done: progress.write(upload.pk, verified_bytes=done),
        )
        Upload.objects.filter(pk=upload.pk).update(sha256=sha256)
        upload.sha256 = sha256
        result = policy.process(upload) if policy.process else {}
    except (ProcessingError, purposes.PurposeError) as exc:
        return _fail(upload, str(exc), result={"worker": meter.figures()})
    result = {**result, "worker": meter.figures()}
    if transition(upload, source=UploadState.PROCESSING, target=UploadState.READY, result=result):
        progress.set_stage(upload.pk, "ready")
    else:
        upload.refresh_from_db()
    return upload


def upload_fail_timed_out(*, upload: Upload) -> Upload:
    """The task reached its soft time limit: a defined end rather than a retry that would too."""
    limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
    return _fail(upload, f"Processing took longer than {limit} seconds.")


def _fail(upload: Upload, reason: str, **fields) -> Upload:
    """Fail the upload and delete its object, only if this caller moved it out of processing.

    A late delivery must not delete the object of an upload that another delivery made ready.
    """
    if transition(
        upload, source=UploadState.PROCESSING, target=UploadState.FAILED, error=reason, **fields
    ):
        progress.set_stage(upload.pk, "failed")
        try:
            s3.delete_object(upload.key)
        except s3.S3Error:
            logger.exception("could not delete the object of failed upload %s", upload.pk)
    else:
        upload.refresh_from_db()
    return upload


def sample_of(upload: Upload) -> Sample:
    """The object's first and last bytes, in two ranged reads whatever its size."""
    head = s3.read_range(upload.key, 0, min(HEAD_BYTES, upload.size) - 1)
    tail_start = max(0, upload.size - TAIL_BYTES)
    tail = head[tail_start:] if upload.size <= HEAD_BYTES else s3.read_range(
        upload.key, tail_start, upload.size - 1
    )
    extension = posixpath.splitext(upload.filename.lower())[1]
    return Sample(extension=extension, size=upload.size, head=head, tail=tail)


# --- Screenshots -----------------------------------------------------------------------------


def rendition_key(upload: Upload, name: str) -> str:
    return f"{posixpath.dirname(upload.key)}/{RENDITIONS_FOLDER}/{name}.jpg"


def screenshot_renditions(upload: Upload) -> dict:
    """The screenshot purpose's ``process`` hook: two JPEG renditions beside the original.

    The original is read into memory whole: the purpose caps it at 20 MiB, and the decoders
    need to seek. The same image always gives the same bytes, so a second run rewrites the same
    keys with the same content.
    """
    limit = purposes.get(upload.purpose).max_size
    if upload.size > limit:
        raise ProcessingError(f"Screenshots may be at most {limit:,} bytes.")
    _stage(upload, "making thumbnails")
    data = s3.read_range(upload.key, 0, upload.size - 1)
    try:
        made = make_renditions(data)
    except ImageRejected as exc:
        raise ProcessingError(str(exc)) from exc
    del data
    renditions = {}
    for rendition in made.renditions:
        key = rendition_key(upload, rendition.name)
        s3.put_object(key=key, body=rendition.data, content_type=rendition.content_type)
        logger.info(
            json.dumps(
                {
                    "event": "upload_rendition_written",
                    "upload": str(upload.pk),
                    "rendition": rendition.name,
                    "key": key,
                    "bytes": len(rendition.data),
                }
            )
        )
        renditions[rendition.name] = {
            "key": key,
            "width": rendition.width,
            "height": rendition.height,
            "bytes": len(rendition.data),
        }
    return {
        "renditions": renditions,
        "width": made.width,
        "height": made.height,
        "format": made.format,
    }


# --- Bookkeeping -----------------------------------------------------------------------------


def _stage(upload: Upload, stage: str) -> None:
    progress.set_stage(upload.pk, stage)
    # Lets a test worker be killed or stopped in the middle of a stage; never set in production.
    if stage and os.environ.get("UPLOADS_TEST_STALL_STAGE") == stage:
        time.sleep(float(os.environ.get("UPLOADS_TEST_STALL_SECONDS", "60")))


def _count_attempt(upload: Upload) -> int:
    """This delivery's number for the upload; 1 when the cache cannot say."""
    key = f"{ATTEMPTS_KEY_PREFIX}{upload.pk}"
    try:
        cache = caches[settings.UPLOADS_PROGRESS_CACHE]
        cache.add(key, 0, timeout=24 * 3600)
        return cache.incr(key)
    except Exception:  # a cache outage must not stop processing
        logger.warning("could not count processing attempts of %s", upload.pk, exc_info=True)
        return 1


class _Meter:
    """Time and peak resident memory of one task, for the worker figures in the reports.

    A prefork child runs one task at a time, so resetting the process's high-water mark at the
    start makes the mark at the end this task's peak (Linux; elsewhere the peak is None).
    """

    def __init__(self):
        self.started = time.monotonic()
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            pass

    def figures(self) -> dict:
        return {"seconds": round(time.monotonic() - self.started, 3), "peak_rss": _peak_rss()}


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as status:
            match = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None
