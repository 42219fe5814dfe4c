"""The item list: search, tag and total-conversion filters, each sort order, pagination."""

import pytest
from django.test import Client

from items import services
from items.models import Item, Review, Version
from tests.fixtures.site import make_item

pytestmark = pytest.mark.django_db


def names(response):
    return [item.name for item in response.context["page"]]


@pytest.fixture
def catalogue(alice, bob, charlie, django_user_model):
    tc = make_item(alice, "Eternal", tags=["scenario"], body="A total conversion")
    lava = make_item(alice, "Lava Pit", tags=["map", "net"], byline="Hot netmap", tc=tc)
    ice = make_item(bob, "Ice Station", tags=["map"], body="Cold corridors and *lava* vents", tc=tc)
    hud = make_item(charlie, "HUD Plus", tags=["plugin"])
    for item, downloads in [(lava, 3), (ice, 10), (hud, 1)]:
        for _ in range(downloads):
            services.download_record(version=item.versions.first())
    # Ice: fifty-ish 4-star reviews beat HUD's single 5-star one in the weighted order.
    reviewers = [django_user_model.objects.create_user(f"r{n}") for n in range(12)]
    for reviewer in reviewers:
        services.review_create(
            version=ice.versions.first(), user=reviewer, title="Good", body="", rating=4
        )
    services.review_create(version=hud.versions.first(), user=bob, title="Best", body="", rating=5)
    # Newest version: HUD gets a new one last.
    services.version_save(version=Version(item=hud, name="2.0", link="https://example.org/2.zip"))
    return {"tc": tc, "lava": lava, "ice": ice, "hud": hud}


def test_it_searches_name_byline_and_body(catalogue):
    assert sorted(names(Client().get("/search/?q=lava"))) == ["Ice Station", "Lava Pit"]
    assert names(Client().get("/search/?q=netmap")) == ["Lava Pit"]
    assert names(Client().get("/search/?q=nothing-like-this")) == []


def test_it_filters_by_tag(catalogue):
    assert sorted(names(Client().get("/search/?tag=map"))) == ["Ice Station", "Lava Pit"]
    assert names(Client().get("/search/?tag=plugin")) == ["HUD Plus"]


def test_it_filters_by_total_conversion(catalogue):
    assert sorted(names(Client().get("/search/?tc=eternal"))) == ["Ice Station", "Lava Pit"]
    assert sorted(names(Client().get("/scenarios/eternal/"))) == ["Ice Station", "Lava Pit"]


def test_it_sorts_by_downloads(catalogue):
    assert names(Client().get("/search/?sort=downloads"))[:3] == [
        "Ice Station",
        "Lava Pit",
        "HUD Plus",
    ]


def test_it_sorts_by_weighted_rating(catalogue):
    assert names(Client().get("/search/?sort=rating"))[:2] == ["Ice Station", "HUD Plus"]
    hud = Item.objects.get(name="HUD Plus")
    assert hud.rating_average > Item.objects.get(name="Ice Station").rating_average


def test_it_sorts_by_newest_version(catalogue, alice):
    make_item(alice, "No Version Yet", link="")
    assert names(Client().get("/search/?sort=new"))[0] == "HUD Plus"
    assert names(Client().get("/search/?sort=new"))[-1] == "No Version Yet"
    assert names(Client().get("/search/"))[0] == "HUD Plus"


def test_it_paginates_and_keeps_the_query(alice, settings):
    settings.ITEMS_PER_PAGE = 2
    for n in range(5):
        make_item(alice, f"Map {n}", tags=["map"])
    response = Client().get("/search/?tag=map&sort=new")
    assert len(response.context["page"]) == 2
    assert "?tag=map&amp;sort=new&amp;page=2" in response.content.decode()
    assert len(Client().get("/search/?tag=map&sort=new&page=3").context["page"]) == 1


def test_the_old_list_url_moves_permanently_with_its_query(db):
    response = Client().get("/items/?q=lava&sort=rating")
    assert response.status_code == 301
    assert response["Location"] == "/search/?q=lava&sort=rating"


def test_counts_follow_items_tags_and_reviews(catalogue, alice):
    alice.refresh_from_db()
    assert alice.items_count == 2
    from items.models import Tag

    assert Tag.objects.get(permalink="map").items_count == 2
    assert Item.objects.get(name="Ice Station").reviews_count == 12
    assert Review.objects.filter(version__item__name="Ice Station").count() == 12


def test_home_shows_newest_and_most_downloaded(catalogue):
    response = Client().get("/")
    assert response.context["newest"][0].name == "HUD Plus"
    assert response.context["popular"][0].name == "Ice Station"
