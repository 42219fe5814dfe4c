"""The site's Celery tasks; thin, like the engine's."""

from celery import shared_task
from django.conf import settings

from items import announcements


@shared_task(name=announcements.ANNOUNCE_TASK, bind=True, acks_late=True, max_retries=8)
def announce(self, kind: str, pk: int) -> str | None:
    try:
        return announcements.post(kind, pk)
    except announcements.DiscordUnavailable as exc:
        countdown = settings.DISCORD_RETRY_BACKOFF * 2**self.request.retries
        raise self.retry(exc=exc, countdown=min(countdown, 3600)) from exc
