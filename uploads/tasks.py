"""Celery tasks: thin; each loads its row and calls a service."""

from celery import shared_task

from uploads import processing, services
from uploads.models import Upload


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_upload(upload_id: str) -> str:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    return processing.upload_process(upload=upload).state


@shared_task
def expire_stale_uploads() -> int:
    return len(services.uploads_expire_stale())
