"""New versions and reviews are announced on Discord by the worker — here a local stand-in that
speaks Discord's HTTP API (tests/fixtures/discord.py), since Discord is out of reach."""

import time

import pytest
from django.test import Client

from items import services
from tests.fixtures.discord import REVIEWS_CHANNEL, UPLOADS_CHANNEL
from tests.fixtures.site import make_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def announcing(discord, celery_worker, settings):
    """The web side configured as the worker is: announcements on, to the stand-in."""
    for name, value in discord.env().items():
        setattr(settings, name, int(value) if name == "DISCORD_RETRY_BACKOFF" else value)
    discord.reset()
    return discord


def wait_for_messages(discord, count, timeout=30):
    deadline = time.monotonic() + timeout
    while len(discord.messages) < count:
        assert time.monotonic() < deadline, f"Discord got {discord.messages}, wanted {count}"
        time.sleep(0.1)
    return discord.messages


def settle(seconds=2.5):
    """Long enough for a duplicate post (a retry, a second delivery) to have arrived."""
    time.sleep(seconds)


def test_a_new_version_is_posted_once_and_published(announcing, alice, settings):
    item = make_item(alice, "Rubicon X")
    version = item.versions.get()

    [message] = wait_for_messages(announcing, 1)
    settle()

    assert len(announcing.messages) == 1
    assert message["channel_id"] == UPLOADS_CHANNEL
    assert message["content"] == settings.SITE_URL + version.get_absolute_url()
    assert announcing.crossposted == [message["id"]]


def test_editing_a_version_announces_nothing_more(announcing, alice):
    item = make_item(alice, "Eternal")
    wait_for_messages(announcing, 1)
    version = item.versions.get()
    version.notes = "Fixed a typo."
    services.version_save(version=version)

    settle()
    assert len(announcing.messages) == 1


def test_a_new_review_is_posted_to_the_reviews_channel(announcing, alice, bob, settings):
    item = make_item(alice, "Phoenix")
    wait_for_messages(announcing, 1)

    review = services.review_create(
        version=item.versions.get(), user=bob, title="Great", body="", rating=5
    )

    messages = wait_for_messages(announcing, 2)
    assert messages[1]["channel_id"] == REVIEWS_CHANNEL
    assert messages[1]["content"] == settings.SITE_URL + review.get_absolute_url()
    # A plain channel cannot publish; the post stands on its own.
    assert messages[1]["id"] not in announcing.crossposted


def test_with_discord_down_the_request_is_unaffected_and_the_post_is_retried(announcing, alice):
    announcing.fail_next("unavailable", "rate_limited")
    item = make_item(alice, "Infinity", link="")
    client = Client()
    client.force_login(alice)

    response = client.post(
        f"/items/{item.permalink}/versions/new",
        {"name": "2.0", "notes": "", "link": "https://example.org/infinity.zip"},
    )

    # The request only enqueued: Discord failing is the worker's business.
    assert response.status_code == 302, response.content
    wait_for_messages(announcing, 1)
    settle()
    posts = [path for path in announcing.attempts if path.endswith("/messages")]
    assert len(posts) == 3  # 503, 429, then the post
    assert len(announcing.messages) == 1


def test_a_post_whose_answer_was_lost_is_not_shown_twice(announcing, alice):
    announcing.fail_next("lost_answer")

    make_item(alice, "Marathon 2")

    wait_for_messages(announcing, 1)
    deadline = time.monotonic() + 30
    while sum(path.endswith("/messages") for path in announcing.attempts) < 2:
        assert time.monotonic() < deadline, announcing.attempts
        time.sleep(0.1)
    settle()
    assert len(announcing.messages) == 1
    assert len(announcing.crossposted) == 1


def test_without_a_bot_token_nothing_is_enqueued(alice, settings):
    from celery.signals import before_task_publish

    sent = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    settings.DISCORD_BOT_TOKEN = ""
    before_task_publish.connect(record, weak=False)
    try:
        make_item(alice, "Quiet")
    finally:
        before_task_publish.disconnect(record)
    assert "items.announce" not in sent
