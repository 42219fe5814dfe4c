"""New versions and reviews, announced on Discord as the live site does: their URL posted to a
channel by the site's bot, then published (crossposted) when the channel is an announcement
channel.

``schedule`` runs in the web request and only enqueues, after the commit; ``post`` runs on the
worker (``items.tasks.announce``). Each announcement carries a nonce that Discord enforces
(``enforce_nonce``), so a retried post after a lost answer never shows twice.
"""

from __future__ import annotations

import logging

import requests
from celery import current_app
from django.conf import settings
from django.db import transaction

from items.models import Review, Version

logger = logging.getLogger("items.announcements")

ANNOUNCE_TASK = "items.announce"
KINDS = {"version": Version, "review": Review}


class DiscordUnavailable(Exception):
    """Discord did not take the post now (a 5xx, a rate limit, no connection): retry later."""


def _channel(kind: str) -> str:
    return {
        "version": settings.DISCORD_UPLOADS_CHANNEL_ID,
        "review": settings.DISCORD_REVIEWS_CHANNEL_ID,
    }[kind]


def schedule(kind: str, pk: int) -> None:
    """Announce the new version or review once this transaction commits, when Discord is set up."""
    if not (settings.DISCORD_BOT_TOKEN and _channel(kind)):
        return

    def send():
        try:
            current_app.send_task(ANNOUNCE_TASK, args=[kind, pk])
        except Exception:
            # A broker outage must not fail the request that made the version or review.
            logger.exception("could not enqueue the announcement of %s %s", kind, pk)

    transaction.on_commit(send)


def post(kind: str, pk: int) -> str | None:
    """Post the object's URL; returns Discord's message id (None when there is nothing to post)."""
    target = KINDS[kind].objects.filter(pk=pk).first()
    channel = _channel(kind)
    if target is None or not (settings.DISCORD_BOT_TOKEN and channel):
        return None
    url = settings.SITE_URL.rstrip("/") + target.get_absolute_url()
    message = _call(
        f"channels/{channel}/messages",
        # Discord keeps a nonce for a few minutes: a retry inside that window returns the
        # message already made instead of a second one.
        {"content": url, "nonce": f"s7-{kind}-{pk}"[:25], "enforce_nonce": True},
    )
    try:
        _call(f"channels/{channel}/messages/{message['id']}/crosspost", None)
    except requests.HTTPError as exc:
        # Only announcement channels can publish; elsewhere the post itself is the announcement.
        logger.info("message %s not crossposted: %s", message["id"], exc)
    return message["id"]


def _call(path: str, body: dict | None) -> dict:
    try:
        response = requests.post(
            f"{settings.DISCORD_API_URL.rstrip('/')}/{path}",
            json=body,
            headers={
                "Authorization": f"Bot {settings.DISCORD_BOT_TOKEN}",
                "User-Agent": "DiscordBot (https://simplici7y.com, 1)",
            },
            timeout=10,
        )
    except requests.RequestException as exc:
        raise DiscordUnavailable(str(exc)) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise DiscordUnavailable(f"Discord answered {response.status_code}")
    response.raise_for_status()
    return response.json() if response.content else {}
