"""Every URL of the old site keeps its meaning, walked over the seeded demo data."""

import pytest
from django.core.management import call_command
from django.test import Client

from items.management.commands.seed_demo import REVIEWER_USERNAME
from items.models import Item, Tag, Version
from tests.fixtures.live_urls import walk_the_live_site
from tests.fixtures.site import seed_demo_site

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded(celery_worker):
    seed_demo_site()
    return Item.objects.get(permalink="marathon-infinity-redux")


def test_seeding_twice_changes_nothing(seeded):
    counts = (Item.objects.count(), Version.objects.count(), Tag.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (Item.objects.count(), Version.objects.count(), Tag.objects.count()) == counts
    assert counts[0] == 4


def test_every_url_of_the_live_site_answers_over_the_demo_data(seeded, django_user_model):
    staff = django_user_model.objects.create_user("operator", is_staff=True, is_superuser=True)
    walk_the_live_site(
        item=seeded,
        reviewer=django_user_model.objects.get(username=REVIEWER_USERNAME),
        staff=staff,
        new_review_item=Item.objects.get(permalink="pfhor-arena"),
        link_item=Item.objects.get(permalink="classic-physics"),
    )


def test_the_rails_download_link_counts_and_sends_to_the_file(seeded):
    before = seeded.downloads_count
    response = Client().get(f"/items/{seeded.permalink}/download", follow=False)
    assert Client().get(response["Location"]).status_code == 302
    seeded.refresh_from_db()
    assert seeded.downloads_count == before + 1


def test_the_seeded_item_page_shows_its_files_screenshots_and_review(seeded):
    page = Client().get(f"/items/{seeded.permalink}/").content.decode()
    assert "infinity-redux-1.1.zip" in page
    assert "Durandal&#x27;s terminal" in page
    assert "Better than I remembered" in page
    assert "Processing…" not in page
