"""Every item recounted at once (what an import does) gives what recounting each one gives."""

import pytest

from items import counts, services
from items.models import Item, Screenshot, Version
from tests.fixtures.site import make_item, ready_upload

pytestmark = pytest.mark.django_db

COUNTS = [
    "downloads_count", "reviews_count", "screenshots_count", "rating_average", "rating_weighted",
    "version_created_at",
]  # fmt: skip


def test_recounting_every_item_at_once_matches_recounting_each(alice, bob, charlie):
    reviewed = make_item(alice, "Reviewed")
    services.version_save(version=Version(item=reviewed, name="2.0", link="https://e.org/2.zip"))
    Version.objects.filter(item=reviewed).update(downloads_count=7)
    for reviewer, rating in ((bob, 5), (charlie, 2)):
        services.review_create(
            version=reviewed.versions.first(), user=reviewer, title="t", body="", rating=rating
        )
    Screenshot.objects.create(item=reviewed, upload=ready_upload(alice, filename="a.png",
                              purpose="screenshot"))  # fmt: skip
    quiet = make_item(bob, "Quiet", link="")
    Item.objects.update(
        downloads_count=99, reviews_count=99, screenshots_count=99, rating_average=9.0,
        rating_weighted=9.0, version_created_at=None,
    )  # fmt: skip

    counts.items_recount()
    at_once = list(Item.objects.order_by("pk").values_list(*COUNTS))
    Item.objects.update(downloads_count=99, reviews_count=99, rating_weighted=9.0)
    for item in (reviewed, quiet):
        counts.item_recount(item.pk)
    one_by_one = list(Item.objects.order_by("pk").values_list(*COUNTS))

    assert at_once == one_by_one
    assert at_once[0][:3] == (14, 2, 1) and at_once[1][:3] == (0, 0, 0)
