"""What the worker does with a completed upload: verify it, run its purpose's processing."""

import logging

from uploads import progress, purposes, s3
from uploads.models import Upload, UploadState
from uploads.services import transition, upload_fail

logger = logging.getLogger("uploads")


class ProcessingError(Exception):
    """The object is not acceptable for its purpose; the message is shown to the uploader."""


def upload_process(*, upload: Upload) -> Upload:
    """Verify the completed object and run its purpose's processing; ends ready or failed.

    Idempotent: a redelivered task writes the same keys and reaches the same state.
    """
    if upload.state != UploadState.PROCESSING:
        return upload
    policy = purposes.get(upload.purpose)
    try:
        progress.set_stage(upload.pk, "verifying")
        head = s3.head_object(upload.key)
        if head is None or head["ContentLength"] != upload.size:
            raise ProcessingError("The stored file is not the size that was uploaded.")
        sha256 = s3.sha256_of_object(upload.key, upload.size)
        Upload.objects.filter(pk=upload.pk).update(sha256=sha256)
        upload.sha256 = sha256
        result = policy.process(upload) if policy.process else {}
    except ProcessingError as exc:
        return upload_fail(upload=upload, reason=str(exc))
    if transition(upload, source=UploadState.PROCESSING, target=UploadState.READY, result=result):
        progress.set_stage(upload.pk, "ready")
    return upload
