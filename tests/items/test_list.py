"""The lists (front page, tag, scenario and user pages): the live site's ``search``, ``order``
and ``page`` parameters, every order, ranked accent-insensitive search, and hidden items."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from items import counts, selectors, services
from items.models import Item
from tests.fixtures.site import downloads_at, make_item, version_at

pytestmark = pytest.mark.django_db

ORDERED_PAGES = ["/", "/tags/map/", "/scenarios/eternal/", "/users/alice/"]


def names(response):
    assert response.status_code == 200, response.status_code
    return [item.name for item in response.context["page"]]


def review(item, people, ratings):
    for person, rating in zip(people, ratings, strict=False):
        services.review_create(
            version=item.versions.first(), user=person, title="t", body="", rating=rating
        )


@pytest.fixture
def catalogue(alice, bob, django_user_model):
    """Four published items by alice, all tagged map and made for the scenario Eternal (by bob,
    also published), and one of alice's without a version."""
    now = datetime.now(UTC)
    eternal = make_item(bob, "Eternal", tags=["scenario"])
    version_at(eternal, now - timedelta(days=400))
    made = {}
    for n, name in enumerate(["Alpha", "Bravo", "Charlie", "Delta"]):
        item = make_item(alice, name, tags=["map"], tc=eternal)
        made[name] = version_at(item, now - timedelta(days=100 - n))
    people = [django_user_model.objects.create_user(f"r{n}") for n in range(12)]
    review(made["Alpha"], people, [5])
    review(made["Bravo"], people, [4] * 12)
    review(made["Charlie"], people, [1, 1])
    today = now.replace(hour=0, minute=0, second=1)
    downloads_at(made["Delta"].versions.first(), today, 5)
    downloads_at(made["Alpha"].versions.first(), today - timedelta(days=3), 2)
    downloads_at(made["Bravo"].versions.first(), today - timedelta(days=20), 10)
    downloads_at(made["Charlie"].versions.first(), today - timedelta(days=40), 3)
    counts.download_days_rebuild()
    make_item(alice, "Unfinished", tags=["map"], tc=eternal, link="")
    return made


EXPECTED = {
    "new": ["Delta", "Charlie", "Bravo", "Alpha"],
    "old": ["Alpha", "Bravo", "Charlie", "Delta"],
    "reviews": ["Alpha", "Bravo", "Charlie"],  # by average, reviewed items only
    "best": ["Bravo", "Alpha", "Charlie"],  # weighted: twelve 4s beat one 5
    "worst": ["Charlie", "Alpha", "Bravo"],
    "loud": ["Bravo", "Charlie", "Alpha"],
    "popular": ["Bravo", "Delta", "Charlie", "Alpha"],
    "day": ["Delta", "Bravo", "Charlie", "Alpha"],  # then by all-time downloads
    "week": ["Delta", "Alpha", "Bravo", "Charlie"],
    "month": ["Bravo", "Delta", "Alpha", "Charlie"],
}


def on_front_page(order):
    """The front page also lists Eternal: oldest, never downloaded nor reviewed."""
    if order in selectors.REVIEWED_ONLY:
        return EXPECTED[order]
    return ["Eternal", *EXPECTED[order]] if order == "old" else [*EXPECTED[order], "Eternal"]


@pytest.mark.parametrize("order", sorted(EXPECTED))
def test_each_order_gives_its_sequence_on_every_list_page(catalogue, order):
    assert names(Client().get(f"/?order={order}")) == on_front_page(order)
    for page in ORDERED_PAGES[1:]:
        assert names(Client().get(f"{page}?order={order}")) == EXPECTED[order], page


def test_the_default_order_is_newest_version_first(catalogue):
    assert names(Client().get("/")) == ["Delta", "Charlie", "Bravo", "Alpha", "Eternal"]
    assert names(Client().get("/?order=no-such-order")) == names(Client().get("/"))


def test_random_order_lists_the_same_items(catalogue):
    listed = names(Client().get("/tags/map/?order=random"))
    assert sorted(listed) == ["Alpha", "Bravo", "Charlie", "Delta"]


def test_the_order_links_keep_the_page_s_other_filters_but_drop_search(catalogue):
    page = Client().get("/tags/map/?order=best&search=alpha").content.decode()
    assert 'href="?order=popular"' in page
    assert 'href="?order=day"' in page


def test_it_pages_twenty_at_a_time_and_keeps_the_query(alice, settings):
    assert settings.ITEMS_PER_PAGE == 20
    for n in range(23):
        make_item(alice, f"Map {n}", tags=["map"])
    first = Client().get("/?order=old")
    assert len(first.context["page"]) == 20
    assert "?order=old&amp;page=2" in first.content.decode()
    second = Client().get("/?order=old&page=2")
    assert names(second) == ["Map 20", "Map 21", "Map 22"]
    assert len(Client().get("/tags/map/?page=2").context["page"]) == 3
    assert Client().get("/?page=not-a-number").status_code == 200


def test_lists_hide_items_without_a_version_except_on_the_owner_s_own_page(catalogue, alice, bob):
    for page in [*ORDERED_PAGES, "/?search=unfinished", "/?order=random"]:
        assert "Unfinished" not in names(Client().get(page)), page
    owner = Client()
    owner.force_login(alice)
    assert "Unfinished" in names(owner.get("/users/alice/"))
    assert "Unfinished" not in names(owner.get("/"))
    other = Client()
    other.force_login(bob)
    assert "Unfinished" not in names(other.get("/users/alice/"))


# --- Search ----------------------------------------------------------------------------------


def test_a_name_match_outranks_a_newer_body_match(alice):
    named = make_item(alice, "Lava Pit", body="A netmap.")
    version_at(named, datetime(2020, 1, 1, tzinfo=UTC))
    make_item(alice, "Ice Station", body="Cold corridors and *lava* vents")
    assert names(Client().get("/?search=lava")) == ["Lava Pit", "Ice Station"]


def test_a_byline_match_outranks_a_tag_match_and_a_tag_match_a_body_match(alice):
    version_at(make_item(alice, "One", byline="A ctf map"), datetime(2020, 1, 1, tzinfo=UTC))
    version_at(make_item(alice, "Two", tags=["ctf"]), datetime(2021, 1, 1, tzinfo=UTC))
    make_item(alice, "Three", body="Plays well as ctf.")
    assert names(Client().get("/?search=ctf")) == ["One", "Two", "Three"]


def test_search_ignores_accents_on_both_sides(alice):
    make_item(alice, "Pfhór Citadel")
    make_item(alice, "Cafe Run")
    assert names(Client().get("/?search=pfhor")) == ["Pfhór Citadel"]
    assert names(Client().get("/?search=Pfhór")) == ["Pfhór Citadel"]
    assert names(Client().get("/?search=café")) == ["Cafe Run"]


def test_a_nul_in_a_search_or_a_name_is_no_error(alice):
    make_item(alice, "Lava Pit")
    assert names(Client().get("/?search=lava%00pit")) == ["Lava Pit"]
    assert Client().get("/tags/%00/").status_code == 404
    assert Client().get("/users/a%00/").status_code == 404


def test_search_stems_words_and_finds_nothing_for_nonsense(alice):
    make_item(alice, "Maps of Lh'owon", body="Several netmaps.")
    assert names(Client().get("/?search=map")) == ["Maps of Lh'owon"]
    assert names(Client().get("/?search=zzqx")) == []
    assert Client().get("/?search=" + "%22" * 3 + "&order=x").status_code == 200


def test_search_wins_over_order_and_stays_within_the_page_s_filter(catalogue, alice):
    make_item(alice, "Alpha Omega", tags=["plugin"])
    # Equal ranks, newest first: "old" would have put Alpha first.
    assert names(Client().get("/?search=alpha&order=old")) == ["Alpha Omega", "Alpha"]
    assert names(Client().get("/tags/map/?search=alpha")) == ["Alpha"]
    assert names(Client().get("/scenarios/eternal/?search=bravo")) == ["Bravo"]
    assert names(Client().get("/users/bob/?search=alpha")) == []


def test_the_simple_fallback_finds_every_word_in_name_byline_body_or_tags(alice):
    make_item(alice, "Lava Pit", byline="Hot", tags=["ctf"])
    make_item(alice, "Ice Station", body="Cold lava vents")
    found = selectors._simple_search(Item.objects.all(), "LAVA ctf")
    assert [item.name for item in found] == ["Lava Pit"]
    assert {i.name for i in selectors._simple_search(Item.objects.all(), "lava")} == {
        "Lava Pit",
        "Ice Station",
    }


# --- Old list addresses ------------------------------------------------------------------------


def test_the_live_site_s_items_list_moves_to_the_front_page_with_the_same_query(db):
    response = Client().get("/items/?search=lava&order=best&page=2")
    assert response.status_code == 301
    assert response["Location"] == "/?search=lava&order=best&page=2"
    assert Client().get("/items/")["Location"] == "/"


def test_s7_s_first_search_page_moves_to_the_live_parameters(catalogue):
    assert Client().get("/search/?q=lava&sort=rating")["Location"] == "/?search=lava&order=best"
    assert Client().get("/search/?tag=map&sort=downloads")["Location"] == "/tags/map/?order=popular"
    assert Client().get("/search/?tc=eternal")["Location"] == "/scenarios/eternal/"
    assert Client().get("/search/?tc=not a slug").status_code == 404
    assert Client().get("/search/?tag=a/b").status_code == 404


# --- Download windows ----------------------------------------------------------------------


def test_item_page_windows_count_whole_utc_days_at_their_boundaries(alice):
    item = make_item(alice, "Windowed")
    version = item.versions.first()
    moments = [
        datetime(2026, 11, 27, 0, 0, 0),  # today, first second: day, week, month
        datetime(2026, 11, 26, 23, 59, 59),  # yesterday, last second: week, month
        datetime(2026, 11, 21, 0, 0),  # six days ago: week, month
        datetime(2026, 11, 20, 23, 59, 59),  # seven days ago: month
        datetime(2026, 10, 29, 0, 0),  # 29 days ago: month
        datetime(2026, 10, 28, 23, 59, 59),  # 30 days ago: none
        datetime(2026, 11, 28, 0, 0),  # tomorrow (a clock ahead): none
    ]
    for moment in moments:
        downloads_at(version, moment.replace(tzinfo=UTC))
    counts.download_days_rebuild()
    windows = selectors.download_windows(item, today=date(2026, 11, 27))
    assert windows == {"day": 1, "week": 3, "month": 5}
    by_item = selectors.download_windows_by_item([item.pk], today=date(2026, 11, 27))
    assert by_item == {item.pk: windows}
    ordered = selectors.items_list(order="week", today=date(2026, 11, 27))
    assert [(i.name, i.window_downloads) for i in ordered] == [("Windowed", 3)]


def test_the_item_page_shows_today_this_week_and_this_month(alice):
    item = make_item(alice, "Shown")
    now = datetime.now(UTC)
    downloads_at(item.versions.first(), now, 2)
    downloads_at(item.versions.first(), now - timedelta(days=10), 4)
    downloads_at(item.versions.first(), now - timedelta(days=45), 8)
    counts.download_days_rebuild()
    response = Client().get(f"/items/{item.permalink}/")
    assert response.context["windows"] == {"day": 2, "week": 2, "month": 6}
    page = response.content.decode()
    assert "2 today" in page and "2 this week" in page and "6 this month" in page


def test_the_items_feed_lists_published_items_newest_version_first(catalogue):
    feed = Client().get("/items.rss").content.decode()
    titles = [part.split("</title>")[0] for part in feed.split("<item><title>")[1:]]
    assert titles == ["Delta", "Charlie", "Bravo", "Alpha", "Eternal"]
