"""What the worker does with a completed upload: verify it, run its purpose's processing.

Every function here may run twice for the same upload (a redelivered task, a re-enqueued stuck
upload, two deliveries at once): each writes the same keys with the same bytes, and only one
caller wins the final transition.
"""

from __future__ import annotations

import logging
import posixpath
import re
import time

from django.core.cache import caches

from uploads.conf import settings
from uploads.core import progress, purposes
from uploads.core.dispatch import enqueue_sha256
from uploads.core.errors import ProcessingError
from uploads.core.models import Upload, UploadState
from uploads.core.progress import UploadStage
from uploads.core.signals import upload_stage_entered
from uploads.core.sniff import HEAD_BYTES, TAIL_BYTES, Sample
from uploads.storage import objects
from uploads.worker.completion import upload_finish_completion
from uploads.worker.renditions import write_renditions

logger = logging.getLogger("uploads")

ATTEMPTS_KEY_PREFIX = "uploads:attempts:"


def upload_process(*, upload: Upload) -> Upload:
    """Complete the object if that is still to do, verify it and run its purpose's processing;
    ends ready or failed.

    Verification: the size S3 holds is the planned size (HeadObject; completion has just
    checked it, with the checksum S3 computed from the signed parts); the first and last bytes
    match what the purpose accepts under the file's name (the purpose's ``sniff``). Then the
    purpose's renditions are made and its ``process`` hook runs; what they return becomes
    ``Upload.result``. The upload is then ready: the whole file's SHA-256, which needs every
    byte read back, is computed by a task of its own afterwards (``uploads.worker.checksum``).
    """
    size_checked = False
    if upload.state == UploadState.COMPLETING:
        upload = upload_finish_completion(upload=upload)
        size_checked = upload.state == UploadState.PROCESSING
    if upload.state != UploadState.PROCESSING:
        return upload
    attempt = _count_attempt(upload)
    if attempt > settings.UPLOADS_MAX_PROCESSING_ATTEMPTS:
        # Each earlier delivery died without an answer (a worker killed, out of memory): a file
        # that kills workers must not be handed to them for ever.
        upload.fail(f"This file could not be processed after {attempt - 1} attempts.")
        return upload
    meter = _Meter()
    try:
        policy = purposes.get(upload.purpose)
        _enter(upload, UploadStage.VERIFYING)
        _verify(upload, policy, size_checked=size_checked)
        result = {}
        if policy.renditions or policy.process:
            _enter(upload, UploadStage.PROCESSING)
        if policy.renditions:
            result.update(write_renditions(upload, policy))
        if policy.process:
            result.update(policy.process(upload))
    except (ProcessingError, purposes.PurposeError) as exc:
        upload.fail(str(exc), result={"worker": meter.figures()})
        return upload
    result["worker"] = meter.figures()
    if upload.transition(source=UploadState.PROCESSING, target=UploadState.READY, result=result):
        progress.set_stage(upload.pk, UploadStage.READY)
        enqueue_sha256(upload)
    else:
        upload.refresh_from_db()
    return upload


def _verify(upload: Upload, policy: purposes.Purpose, *, size_checked: bool) -> None:
    if not size_checked:
        # An adopted object, or a delivery that found completion already done.
        head = objects.head_object(upload.key)
        if head is None:
            raise ProcessingError("The stored file is missing.")
        if head["ContentLength"] != upload.size:
            raise ProcessingError(
                f"The stored file is {head['ContentLength']:,} bytes where {upload.size:,} were uploaded."
            )
    if policy.sniff is not None:
        reason = policy.sniff(sample_of(upload))
        if reason:
            raise ProcessingError(reason)


def upload_fail_timed_out(*, upload: Upload, seconds: float | None = None) -> Upload:
    """The task reached its soft time limit: a defined end rather than a retry that would too."""
    seconds = seconds or settings.CELERY_TASK_SOFT_TIME_LIMIT
    upload.fail(f"Processing took longer than {seconds:g} seconds.")
    return upload


def sample_of(upload: Upload) -> Sample:
    """The object's first and last bytes, in two ranged reads whatever its size."""
    head = objects.read_range(upload.key, 0, min(HEAD_BYTES, upload.size) - 1)
    tail_start = max(0, upload.size - TAIL_BYTES)
    tail = (
        head[tail_start:]
        if upload.size <= HEAD_BYTES
        else objects.read_range(upload.key, tail_start, upload.size - 1)
    )
    extension = posixpath.splitext(upload.filename.lower())[1]
    return Sample(extension=extension, size=upload.size, head=head, tail=tail)


def _enter(upload: Upload, stage: UploadStage, **fields) -> None:
    progress.write(upload.pk, stage=UploadStage(stage).value, **fields)
    upload_stage_entered.send(sender=Upload, upload=upload, stage=stage)


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
    """Time of one task and the worker process's peak resident memory when it ended.

    The peak is the process's high-water mark (Linux's VmHWM; None elsewhere): a prefork child
    runs one task at a time and is recycled past ``CELERY_WORKER_MAX_MEMORY_PER_CHILD``, so the
    mark bounds this task's own peak from above.
    """

    def __init__(self):
        self.started = time.monotonic()

    def figures(self) -> dict:
        return {"seconds": round(time.monotonic() - self.started, 3), "peak_rss": _peak_rss()}


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as status:
            match = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None
