"""Celery tasks: thin; each loads its row and calls the worker's code.

Acks are late and a task whose worker dies is rejected back to the queue (see the CELERY_*
settings), so each task must be safe to run twice: what they call is idempotent. Tasks register
under the names in ``uploads.tasknames``, by which the web side enqueues them.
"""

from botocore.exceptions import BotoCoreError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from uploads.core.errors import StorageUnavailable
from uploads.core.models import Upload
from uploads.storage.connection import S3Error
from uploads.tasknames import (
    CLEANUP_STORAGE,
    COMPUTE_SHA256,
    EXPIRE_STALE_UPLOADS,
    PROCESS_UPLOAD,
    SWEEP_STUCK_UPLOADS,
)
from uploads.worker import checksum, processing, sweeps

# Tasks on one upload: handed back if their worker dies, and S3 or the network failing is worth
# another try (the upload stays where it was meanwhile).
RETRIED_ON_STORAGE = dict(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(S3Error, StorageUnavailable, BotoCoreError, ConnectionError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)


@shared_task(bind=True, name=PROCESS_UPLOAD, **RETRIED_ON_STORAGE)
def process_upload(self, upload_id: str) -> str:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    try:
        return processing.upload_process(upload=upload).state
    except SoftTimeLimitExceeded:
        # The limit this delivery ran under: the image queue's is shorter than the default.
        _, soft_limit = self.request.timelimit or (None, None)
        return processing.upload_fail_timed_out(upload=upload, seconds=soft_limit).state


@shared_task(name=COMPUTE_SHA256, **RETRIED_ON_STORAGE)
def compute_sha256(upload_id: str) -> str:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    return checksum.upload_compute_sha256(upload=upload)


@shared_task(name=EXPIRE_STALE_UPLOADS)
def expire_stale_uploads() -> int:
    return len(sweeps.uploads_expire_stale())


@shared_task(name=SWEEP_STUCK_UPLOADS)
def sweep_stuck_uploads() -> dict:
    return sweeps.uploads_sweep_stuck()


@shared_task(name=CLEANUP_STORAGE)
def cleanup_storage() -> dict:
    return sweeps.uploads_cleanup_storage()
