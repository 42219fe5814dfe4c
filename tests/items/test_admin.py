import pytest

from items import services
from items.models import Item, Review
from tests.fixtures.site import make_item

pytestmark = pytest.mark.django_db


def test_every_model_has_an_admin(admin_client, alice, bob):
    item = make_item(alice, "Map", tags=["map"])
    services.review_create(version=item.versions.first(), user=bob, title="Ok", body="", rating=3)
    services.download_record(version=item.versions.first())
    for model in ["user", "tag", "item", "version", "review", "screenshot", "download"]:
        assert admin_client.get(f"/admin/items/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/items/{model}/add/").status_code == 200, model
    assert admin_client.get(f"/admin/items/item/{item.pk}/change/").status_code == 200


def test_deleting_in_the_admin_keeps_the_counts(admin_client, alice, bob):
    item = make_item(alice, "Map", tags=["map"])
    review = services.review_create(
        version=item.versions.first(), user=bob, title="Ok", body="", rating=3
    )
    admin_client.post(f"/admin/items/review/{review.pk}/delete/", {"post": "yes"})
    bob.refresh_from_db()
    item.refresh_from_db()
    assert (Review.objects.count(), bob.reviews_count, item.reviews_count) == (0, 0, 0)
    admin_client.post(f"/admin/items/item/{item.pk}/delete/", {"post": "yes"})
    alice.refresh_from_db()
    assert (Item.objects.count(), alice.items_count) == (0, 0)
