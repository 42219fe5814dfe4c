"""Pages people use on their own things: a review's author edits and deletes it; an item's owner
edits, replaces and deletes one screenshot and sees their items' downloads on one page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from items import counts, services
from items.models import Item, Review, Screenshot
from tests.fixtures.site import client_for, downloads_at, make_item, ready_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_review(item, bob):
    return services.review_create(
        version=item.versions.first(), user=bob, title="Fine", body="Good map.", rating=3
    )


def review_url(review, action=""):
    return f"/items/{review.version.item.permalink}/reviews/{review.pk}" + (
        f"/{action}" if action else ""
    )


def test_anyone_reads_a_review_on_its_own_page(bobs_review):
    page = Client().get(review_url(bobs_review)).content.decode()
    assert "Fine" in page and "Good map." in page
    assert "/edit" not in page


def test_the_author_edits_their_review_and_the_rating_follows(bobs_review, bob, item):
    author = client_for(bob)
    assert "/edit" in author.get(review_url(bobs_review)).content.decode()
    response = author.post(
        review_url(bobs_review, "edit"), {"rating": "5", "title": "Great", "body": "Better."}
    )
    assert response.status_code == 302
    assert response["Location"] == review_url(bobs_review)
    bobs_review.refresh_from_db()
    assert (bobs_review.title, bobs_review.rating, bobs_review.body) == ("Great", 5, "Better.")
    item.refresh_from_db()
    assert item.rating_average == 5


def test_a_bad_rating_is_a_form_error(bobs_review, bob):
    response = client_for(bob).post(
        review_url(bobs_review, "edit"), {"rating": "9", "title": "x", "body": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["rating"]
    bobs_review.refresh_from_db()
    assert bobs_review.rating == 3


def test_the_author_deletes_their_review_and_the_counts_follow(bobs_review, bob, item):
    author = client_for(bob)
    assert author.get(review_url(bobs_review, "delete")).status_code == 200
    assert Review.objects.filter(pk=bobs_review.pk).exists()
    assert author.post(review_url(bobs_review, "delete")).status_code == 302
    assert not Review.objects.filter(pk=bobs_review.pk).exists()
    item.refresh_from_db()
    bob.refresh_from_db()
    assert (item.reviews_count, bob.reviews_count) == (0, 0)


def test_nobody_else_edits_or_deletes_a_review_not_even_the_item_s_owner(
    bobs_review, alice, charlie
):
    for person in (alice, charlie):
        other = client_for(person)
        for action in ("edit", "delete"):
            assert other.get(review_url(bobs_review, action)).status_code == 403
            assert other.post(review_url(bobs_review, action), {"title": "x"}).status_code == 403
    assert Client().get(review_url(bobs_review, "edit")).status_code == 302
    bobs_review.refresh_from_db()
    assert bobs_review.title == "Fine"


def test_a_review_is_found_only_under_its_own_item(bobs_review, alice):
    other = make_item(alice, "Other")
    assert Client().get(f"/items/{other.permalink}/reviews/{bobs_review.pk}").status_code == 404


def test_the_owner_retitles_moves_and_replaces_one_screenshot(item, alice):
    old, new = (ready_upload(alice, filename=f"{n}.png", purpose="screenshot") for n in "ab")
    shot = services.screenshots_add(item=item, uploads_and_titles=[(old, "Old")])[0]
    url = f"/items/{item.permalink}/screenshots/{shot.pk}/edit"
    owner = client_for(alice)
    assert owner.get(url).status_code == 200
    response = owner.post(url, {"title": "New", "order": "3", "image": str(new.pk)})
    assert response.status_code == 302
    shot.refresh_from_db()
    assert (shot.title, shot.order, shot.upload_id) == ("New", 3, new.pk)
    # Without a new image the current one stays.
    owner.post(url, {"title": "Newer", "order": "1", "image": ""})
    shot.refresh_from_db()
    assert (shot.title, shot.upload_id) == ("Newer", new.pk)


def test_a_screenshot_cannot_take_another_user_s_or_another_screenshot_s_image(item, alice, bob):
    mine, taken = (ready_upload(alice, filename=f"{n}.png", purpose="screenshot") for n in "ab")
    shot, other = services.screenshots_add(item=item, uploads_and_titles=[(mine, ""), (taken, "")])
    url = f"/items/{item.permalink}/screenshots/{shot.pk}/edit"
    bobs = ready_upload(bob, filename="c.png", purpose="screenshot")
    for image in (bobs.pk, taken.pk, "not-an-id"):
        response = client_for(alice).post(url, {"title": "", "order": "0", "image": str(image)})
        assert response.status_code == 200
        assert response.context["form"].errors["image"]
    shot.refresh_from_db()
    assert shot.upload_id == mine.pk


def test_the_owner_deletes_one_screenshot(item, alice, charlie):
    upload = ready_upload(alice, filename="a.png", purpose="screenshot")
    shot = services.screenshots_add(item=item, uploads_and_titles=[(upload, "")])[0]
    url = f"/items/{item.permalink}/screenshots/{shot.pk}/delete"
    assert client_for(charlie).post(url).status_code == 403
    assert client_for(alice).post(url).status_code == 302
    assert not Screenshot.objects.filter(pk=shot.pk).exists()
    item.refresh_from_db()
    assert item.screenshots_count == 0


def test_the_manage_page_shows_downloads_per_version_and_items_missing_a_version(alice, bob):
    item = make_item(alice, "Counted Map")
    services.version_save(
        version=item.versions.model(item=item, name="2.0", link="https://example.org/2.zip")
    )
    first, second = item.versions.order_by("created_at")
    now = datetime.now(UTC)
    downloads_at(first, now - timedelta(days=3), 4)
    downloads_at(second, now, 2)
    counts.download_days_rebuild()
    make_item(alice, "Draft", link="")
    make_item(bob, "Bob's Map")
    page = client_for(alice).get("/manage/")
    assert page.status_code == 200
    published = page.context["published"]
    assert [i.name for i in published] == ["Counted Map"]
    assert published[0].windows == {"day": 2, "week": 6, "month": 6}
    assert [(v.name, v.downloads_count) for v in published[0].versions.all()] == [
        ("2.0", 2),
        ("1.0", 4),
    ]
    assert [i.name for i in page.context["unversioned"]] == ["Draft"]
    assert "Bob&#x27;s Map" not in page.content.decode()
    assert Client().get("/manage/")["Location"] == "/login/?next=/manage/"


def test_all_tags_are_listed_sized_by_use(alice):
    for n in range(4):
        make_item(alice, f"Net {n}", tags=["netmaps"] + (["solo"] if n == 0 else []))
    response = Client().get("/tags/")
    sizes = {tag.name: tag.size for tag in response.context["tags"]}
    assert set(sizes) == {"netmaps", "solo"}
    assert sizes["netmaps"] > sizes["solo"]
    assert "font-size: 2.5em" in response.content.decode()


def test_scenarios_list_items_other_items_are_made_for_most_children_first(alice):
    one = make_item(alice, "One")
    two = make_item(alice, "Two")
    for n in range(2):
        make_item(alice, f"For two {n}", tc=two)
    make_item(alice, "For one", tc=one)
    response = Client().get("/scenarios/")
    assert [(i.name, i.children) for i in response.context["page"]] == [("Two", 2), ("One", 1)]


def test_the_sidebar_links_the_live_site_s_tags_and_scenarios_that_exist(alice):
    marathon = make_item(alice, "Marathon", tags=["netmaps"])
    Item.objects.filter(pk=marathon.pk).update(permalink="marathon")
    page = Client().get("/").content.decode()
    assert 'href="/tags/netmaps/">Netmaps<' in page
    assert 'href="/scenarios/marathon/">Marathon<' in page
    assert "/tags/ctf/" not in page and "/scenarios/marathon-infinity/" not in page
    assert 'href="/tags/"' in page and 'href="/about/"' in page


def test_the_about_page_and_the_footer_tell_the_site_s_history(db):
    about = Client().get("/about/").content.decode()
    assert "7-polygon mapping challenge" in about and "2007" in about
    assert "since 2007" in about and "since 2005" not in about


def test_screenshots_are_added_in_the_order_given_after_the_others(item, alice):
    owner = client_for(alice)
    uploads = [ready_upload(alice, filename=f"{n}.png", purpose="screenshot") for n in range(4)]
    url = f"/items/{item.permalink}/screenshots/new"
    assert owner.post(url, {"uploads": str(uploads[2].pk)}).status_code == 302
    assert owner.post(url, {"uploads": f"{uploads[0].pk}, {uploads[3].pk}"}).status_code == 302
    assert owner.post(url, {"uploads": str(uploads[1].pk)}).status_code == 302
    shots = list(item.screenshots.all())
    assert [shot.upload_id for shot in shots] == [uploads[n].pk for n in (2, 0, 3, 1)]
    assert [shot.order for shot in shots] == [0, 1, 2, 3]


def test_adding_screenshots_refuses_nothing_twice_and_nobody_else_s(item, alice, bob):
    url = f"/items/{item.permalink}/screenshots/new"
    mine = ready_upload(alice, filename="a.png", purpose="screenshot")
    bobs = ready_upload(bob, filename="b.png", purpose="screenshot")
    owner = client_for(alice)
    for uploads in ("", f"{mine.pk},{mine.pk}", f"{mine.pk},{bobs.pk}", "nonsense"):
        response = owner.post(url, {"uploads": uploads})
        assert response.status_code == 200, uploads
        assert response.context["form"].errors["uploads"], uploads
    assert owner.post(url, {"uploads": str(mine.pk)}).status_code == 302
    response = owner.post(url, {"uploads": str(mine.pk)})
    assert "already a screenshot" in str(response.context["form"].errors["uploads"])
    assert item.screenshots.count() == 1


def test_the_screenshots_page_has_one_drop_zone_for_many_files(item, alice):
    page = client_for(alice).get(f"/items/{item.permalink}/screenshots/new").content.decode()
    assert page.count("data-s7-upload") == 1
    assert "data-multiple" in page


def test_people_who_publish_or_review_are_listed_most_contributions_first(bobs_review, charlie):
    response = Client().get("/users/")
    assert [person.username for person in response.context["page"]] == ["alice", "bob"]
