"""Celery tasks: thin; each loads its row and calls a service.

Acks are late and a task whose worker dies is rejected back to the queue (see the CELERY_*
settings), so each task must be safe to run twice: the services they call are idempotent.
"""

from botocore.exceptions import BotoCoreError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from uploads import maintenance, processing, s3, services
from uploads.errors import StorageUnavailable
from uploads.models import Upload


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # S3 or the network failing is worth another try; the upload stays where it was meanwhile.
    autoretry_for=(s3.S3Error, StorageUnavailable, BotoCoreError, ConnectionError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def process_upload(upload_id: str) -> str:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    try:
        return processing.upload_process(upload=upload).state
    except SoftTimeLimitExceeded:
        return processing.upload_fail_timed_out(upload=upload).state


@shared_task
def expire_stale_uploads() -> int:
    return len(services.uploads_expire_stale())


@shared_task
def sweep_stuck_uploads() -> dict:
    return maintenance.uploads_sweep_stuck()


@shared_task
def cleanup_storage() -> dict:
    return maintenance.uploads_cleanup_storage()
