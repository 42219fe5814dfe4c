"""The whole file's SHA-256, which the download page shows, computed after the upload is ready.

Readiness does not wait for it: S3 checked every part against the SHA-256 it was signed with,
and completion checked the object's size and the checksum S3 computed from those parts (see
``uploads.worker.completion``). This read-back is the one step whose time grows with the file,
so it comes last, in a task of its own; the upload's ``sha256`` is empty until it is done.
"""

from __future__ import annotations

from uploads.core.models import Upload, UploadState
from uploads.core.signals import upload_stage_entered
from uploads.storage import objects

# The stage named by ``upload_stage_entered`` as the worker starts reading the object back.
SHA256_STAGE = "sha256"


def upload_compute_sha256(*, upload: Upload) -> str:
    """Stream the object in ranged reads (constant memory) and store its hex SHA-256 on a ready
    upload that has none yet; the digest, or "" when the upload is not ready.

    Idempotent: a second delivery finds the digest stored and reads nothing.
    """
    if upload.state != UploadState.READY:
        return ""
    if upload.sha256:
        return upload.sha256
    upload_stage_entered.send(sender=Upload, upload=upload, stage=SHA256_STAGE)
    digest = objects.sha256_of_object(upload.key, upload.size)
    Upload.objects.filter(pk=upload.pk, state=UploadState.READY, sha256="").update(sha256=digest)
    upload.sha256 = digest
    return digest
