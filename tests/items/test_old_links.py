"""Every URL of the old site keeps its meaning, walked over the seeded demo data."""

import pytest
from django.core.management import call_command
from django.test import Client

from items.models import Item, Screenshot, Tag, Version
from tests.fixtures.uploading import wait_for_state
from uploads.core.models import UploadState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded(celery_worker):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    for upload_id in [*Version.objects.exclude(file=None).values_list("file_id", flat=True),
                      *Screenshot.objects.values_list("upload_id", flat=True)]:  # fmt: skip
        wait_for_state(upload_id, {UploadState.READY})
    return Item.objects.get(permalink="marathon-infinity-redux")


def test_seeding_twice_changes_nothing(seeded):
    counts = (Item.objects.count(), Version.objects.count(), Tag.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (Item.objects.count(), Version.objects.count(), Tag.objects.count()) == counts
    assert counts[0] == 4


def test_every_old_url_answers_for_the_demo_data(seeded):
    item = seeded
    version = item.versions.first()
    tag = item.tags.first()
    owner = Client()
    owner.login(username="demo", password="demo-password-7")
    anonymous = Client()
    p = item.permalink
    # (path, who asks, expected status, where a redirect must lead)
    walk = [
        ("/", anonymous, 200, None),
        ("/items/", anonymous, 301, "/search/"),
        (f"/items/{p}/", anonymous, 200, None),
        (f"/items/{p}", anonymous, 301, f"/items/{p}/"),
        (f"/scenarios/{p}/", anonymous, 200, None),
        ("/users/", anonymous, 200, None),
        ("/users/demo/", anonymous, 200, None),
        (f"/tags/{tag.permalink}/", anonymous, 200, None),
        (f"/tags/{tag.name.upper()}/", anonymous, 301, f"/tags/{tag.permalink}/"),
        ("/reviews/", anonymous, 200, None),
        ("/signup/", anonymous, 200, None),
        ("/login/", anonymous, 200, None),
        ("/logout/", anonymous, 200, None),
        ("/settings/", anonymous, 302, "/login/?next=/settings/"),
        ("/settings/", owner, 200, None),
        ("/items/new", anonymous, 302, "/login/?next=/items/new"),
        ("/items/new", owner, 200, None),
        (f"/items/{p}/edit", owner, 200, None),
        (f"/items/{p}/delete", owner, 200, None),
        (f"/items/{p}/versions/new", owner, 200, None),
        (f"/items/{p}/versions/{version.pk}/edit", owner, 200, None),
        (f"/items/{p}/screenshots/new", owner, 200, None),
        (f"/items/{p}/reviews/new", anonymous, 302, f"/login/?next=/items/{p}/reviews/new"),
        (f"/items/{p}/downloads/new", anonymous, 302, "http://127.0.0.1:"),
        ("/items/classic-physics/downloads/new", anonymous, 200, None),  # "you are leaving"
        ("/password_reset/", anonymous, 200, None),
        ("/password_reset/done/", anonymous, 200, None),
        ("/reset/done/", anonymous, 200, None),
        ("/items.rss", anonymous, 200, None),
        ("/reviews.rss", anonymous, 200, None),
        ("/sitemap.xml", anonymous, 200, None),
        ("/api/items/", anonymous, 200, None),
        ("/api/versions/", anonymous, 200, None),
        ("/api/downloads/", anonymous, 200, None),
        ("/api/reviews/", anonymous, 200, None),
        ("/api/screenshots/", anonymous, 200, None),
        ("/api/tags/", anonymous, 200, None),
        ("/api/uploads/", owner, 200, None),
    ]
    answers = []
    for path, client, status, target in walk:
        response = client.get(path)
        answers.append((path, response.status_code, response.get("Location", "")))
        assert response.status_code == status, (path, response.status_code)
        if target:
            assert response["Location"].startswith(target), (path, response["Location"])
    assert len(answers) == len(walk)


def test_the_seeded_item_page_shows_its_files_screenshots_and_review(seeded):
    page = Client().get(f"/items/{seeded.permalink}/").content.decode()
    assert "infinity-redux-1.1.zip" in page
    assert "Durandal&#x27;s terminal" in page
    assert "Better than I remembered" in page
    assert "Processing…" not in page
