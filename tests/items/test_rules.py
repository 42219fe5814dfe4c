"""Who may change what, and bad input: each is a form error, 403 or 404, and nothing half-made."""

import pytest
from django.test import Client

from items import counts, selectors, services
from items.models import Item, Review, Screenshot, Version
from tests.fixtures.site import client_for, make_item, ready_upload
from uploads.api import services as engine

pytestmark = pytest.mark.django_db


def test_a_stranger_cannot_edit_delete_or_add_versions_or_screenshots(item, charlie):
    stranger = client_for(charlie)
    version = item.versions.first()
    paths = [
        f"/items/{item.permalink}/edit",
        f"/items/{item.permalink}/delete",
        f"/items/{item.permalink}/versions/new",
        f"/items/{item.permalink}/versions/{version.pk}/edit",
        f"/items/{item.permalink}/screenshots/new",
    ]
    for path in paths:
        assert stranger.get(path).status_code == 403, path
        assert (
            stranger.post(
                path, {"name": "Mine now", "link": "https://evil.example/x.zip"}
            ).status_code
            == 403
        ), path
    item.refresh_from_db()
    assert item.name == "Alice's Map"
    assert Item.objects.filter(pk=item.pk).exists()
    assert item.versions.count() == 1


def test_a_stranger_cannot_edit_a_version_of_another_item_through_their_own(item, charlie):
    theirs = make_item(charlie, "Charlie's Map")
    response = client_for(charlie).get(
        f"/items/{theirs.permalink}/versions/{item.versions.first().pk}/edit"
    )
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(item):
    response = Client().post(f"/items/{item.permalink}/edit", {"name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_staff_can_moderate_someone_elses_item(item, bob):
    bob.is_staff = True
    bob.save()
    response = client_for(bob).post(
        f"/items/{item.permalink}/edit", {"name": "Alice's Map (moderated)", "tags": "map"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "Alice's Map (moderated)"


def test_the_owner_deletes_an_item_and_the_counts_follow(item, alice):
    response = client_for(alice).post(f"/items/{item.permalink}/delete")
    assert response.status_code == 302
    assert not Item.objects.filter(pk=item.pk).exists()
    alice.refresh_from_db()
    assert alice.items_count == 0


def test_it_rejects_a_version_with_neither_file_nor_link(item, alice):
    response = client_for(alice).post(f"/items/{item.permalink}/versions/new", {"name": "2.0"})
    assert response.status_code == 200
    assert "Give a file or a link." in response.content.decode()
    assert item.versions.count() == 1


def test_it_rejects_a_version_with_both_file_and_link(item, alice):
    upload = ready_upload(alice)
    response = client_for(alice).post(
        f"/items/{item.permalink}/versions/new",
        {"name": "2.0", "file": str(upload.pk), "link": "https://example.org/a.zip"},
    )
    assert "Give either a file or a link, not both." in response.content.decode()
    assert item.versions.count() == 1


def test_the_database_refuses_a_version_with_neither_file_nor_link(item):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Version.objects.create(item=item, name="bad")


def test_it_rejects_an_upload_that_is_not_ready(item, alice):
    upload = engine.upload_create(
        owner=alice,
        filename="map.zip",
        size=100,
        content_type="application/zip",
        purpose="version_file",
    )
    response = client_for(alice).post(
        f"/items/{item.permalink}/versions/new", {"name": "2.0", "file": str(upload.pk)}
    )
    assert "not ready yet" in response.content.decode()
    assert item.versions.count() == 1


def test_it_rejects_someone_elses_upload(item, alice, bob):
    upload = ready_upload(bob)
    response = client_for(alice).post(
        f"/items/{item.permalink}/versions/new", {"name": "2.0", "file": str(upload.pk)}
    )
    assert "does not exist or is not yours" in response.content.decode()
    assert item.versions.count() == 1


def test_it_rejects_a_screenshot_as_a_version_file(item, alice):
    upload = ready_upload(alice, filename="shot.png", purpose="screenshot")
    response = client_for(alice).post(
        f"/items/{item.permalink}/versions/new", {"name": "2.0", "file": str(upload.pk)}
    )
    assert "is not a version file" in response.content.decode()


def test_it_rejects_a_file_already_used_by_another_version(item, alice):
    upload = ready_upload(alice)
    owner = client_for(alice)
    assert (
        owner.post(
            f"/items/{item.permalink}/versions/new", {"name": "2.0", "file": str(upload.pk)}
        ).status_code
        == 302
    )
    response = owner.post(
        f"/items/{item.permalink}/versions/new", {"name": "3.0", "file": str(upload.pk)}
    )
    assert "already belongs to another version" in response.content.decode()
    assert item.versions.count() == 2


def test_it_rejects_a_duplicate_permalink(item, bob):
    response = client_for(bob).post("/items/new", {"name": "Copy", "permalink": item.permalink})
    assert response.status_code == 200
    assert "Another item already has this permalink." in response.content.decode()
    assert Item.objects.count() == 1


def test_it_gives_a_new_item_a_free_permalink_from_its_name(item, bob):
    response = client_for(bob).post("/items/new", {"name": "Alice's Map"})
    assert response.status_code == 302
    assert Item.objects.get(owner=bob).permalink == "alices-map-2"


def test_it_rejects_a_rating_of_6(item, bob):
    response = client_for(bob).post(
        f"/items/{item.permalink}/reviews/new",
        {"version": item.versions.first().pk, "rating": 6, "title": "Great"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Review.objects.count() == 0


def test_owners_cannot_review_their_own_item(item, alice):
    response = client_for(alice).post(
        f"/items/{item.permalink}/reviews/new",
        {"version": item.versions.first().pk, "rating": 5, "title": "Mine is great"},
    )
    assert response.status_code == 403
    assert Review.objects.count() == 0


def test_a_user_reviews_a_version_once_and_the_ratings_follow(item, bob):
    reviewer = client_for(bob)
    data = {"version": item.versions.first().pk, "rating": 4, "title": "Solid", "body": "Fun *map*"}
    assert reviewer.post(f"/items/{item.permalink}/reviews/new", data).status_code == 302
    response = reviewer.post(f"/items/{item.permalink}/reviews/new", {**data, "title": "Again"})
    assert "already reviewed this version" in response.content.decode()
    item.refresh_from_db()
    bob.refresh_from_db()
    assert (item.reviews_count, item.rating_average, bob.reviews_count) == (1, 4.0, 1)
    assert item.rating_weighted == pytest.approx((4 + 3 * 5) / 6, abs=1e-3)


def test_one_five_star_review_does_not_beat_fifty_four_star_ones():
    from items.counts import weighted_rating

    assert weighted_rating(4.0, 50) > weighted_rating(5.0, 1)


def test_screenshots_are_added_several_at_once_then_reordered_and_deleted(item, alice):
    owner = client_for(alice)
    first, second = (
        ready_upload(alice, filename="a.png", purpose="screenshot"),
        ready_upload(alice, filename="b.png", purpose="screenshot"),
    )
    response = owner.post(
        f"/items/{item.permalink}/screenshots/new", {"uploads": f"{first.pk},{second.pk}"}
    )
    assert response.status_code == 302
    a, b = Screenshot.objects.filter(item=item).order_by("order")
    assert (a.upload_id, b.upload_id) == (first.pk, second.pk)
    owner.post(
        f"/items/{item.permalink}/screenshots/new",
        {
            "action": "arrange",
            f"order_{a.pk}": "5",
            f"order_{b.pk}": "1",
            f"title_{a.pk}": "A",
            f"title_{b.pk}": "B",
        },
    )
    assert [shot.title for shot in item.screenshots.all()] == ["B", "A"]
    owner.post(
        f"/items/{item.permalink}/screenshots/new", {"action": "arrange", f"delete_{a.pk}": "1"}
    )
    item.refresh_from_db()
    assert [shot.title for shot in item.screenshots.all()] == ["B"]
    assert item.screenshots_count == 1


def test_a_screenshot_upload_is_refused_when_it_is_another_users(item, alice, bob):
    upload = ready_upload(bob, filename="a.png", purpose="screenshot")
    response = client_for(alice).post(
        f"/items/{item.permalink}/screenshots/new", {"uploads": str(upload.pk)}
    )
    assert response.status_code == 200
    assert Screenshot.objects.count() == 0


def test_a_placeholder_stands_in_for_a_screenshot_without_renditions(item, alice):
    upload = ready_upload(alice, filename="a.png", purpose="screenshot")
    client_for(alice).post(f"/items/{item.permalink}/screenshots/new", {"uploads": str(upload.pk)})
    page = Client().get(f"/items/{item.permalink}/").content.decode()
    assert "Preparing…" in page


def test_a_download_of_a_file_still_processing_is_not_counted(alice):
    item = make_item(alice, "Slow", link="")
    upload = engine.upload_create(
        owner=alice,
        filename="map.zip",
        size=10,
        content_type="application/zip",
        purpose="version_file",
    )
    Version.objects.create(item=item, name="1", file=upload)
    response = Client().get(f"/items/{item.permalink}/downloads/new")
    assert response.status_code == 302 and response["Location"] == f"/items/{item.permalink}/"
    assert Version.objects.get(item=item).downloads_count == 0


def test_unknown_items_and_versions_answer_404(item):
    client = Client()
    assert client.get("/items/nope/").status_code == 404
    assert client.get(f"/items/{item.permalink}/downloads/new?version=999999").status_code == 404
    assert client.get(f"/items/{item.permalink}/downloads/new?version=abc").status_code == 404


def test_sign_up_needs_the_passphrase(db):
    response = Client().post(
        "/signup/",
        {
            "username": "spambot",
            "email": "s@example.org",
            "password1": "x-Very-long-7",
            "password2": "x-Very-long-7",
            "passphrase": "wrong",
        },
    )
    assert response.status_code == 200
    assert "That is not the passphrase." in response.content.decode()


def test_logout_asks_on_get_and_acts_on_post(alice):
    client = client_for(alice)
    assert client.get("/logout/").status_code == 200
    assert client.get("/settings/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/settings/").status_code == 302


def test_the_new_item_form_starts_with_empty_tags_and_the_edit_form_shows_names(item, alice):
    client = client_for(alice)
    new_page = client.get("/items/new").content.decode()
    assert 'name="tags" value' not in new_page and "[]" not in new_page
    edit_page = client.get(f"/items/{item.permalink}/edit").content.decode()
    tag_names = ", ".join(tag.name for tag in item.tags.all())
    assert f'name="tags" value="{tag_names}"' in edit_page


def test_download_windows_count_whole_utc_days_up_to_today(alice):
    from datetime import UTC, date, datetime

    from items.models import Download, DownloadDay

    item = make_item(alice, "Windowed")
    version = item.versions.first()
    today = date(2026, 11, 27)
    moments = {
        "today, first second": datetime(2026, 11, 27, 0, 0, 0),
        "yesterday, last second": datetime(2026, 11, 26, 23, 59, 59),
        "six days ago": datetime(2026, 11, 21, 12, 0),
        "seven days ago": datetime(2026, 11, 20, 12, 0),
        "29 days ago": datetime(2026, 10, 29, 0, 0),
        "30 days ago": datetime(2026, 10, 28, 23, 59, 59),
    }
    for moment in moments.values():
        download = services.download_record(version=version)
        Download.objects.filter(pk=download.pk).update(created_at=moment.replace(tzinfo=UTC))
    # The rows' times were moved after counting: the days are rebuilt from the rows.
    counts.download_days_rebuild()

    assert selectors.download_windows(item, today=today) == {"day": 1, "week": 3, "month": 5}
    assert sum(DownloadDay.objects.values_list("count", flat=True)) == 6


def test_each_download_is_counted_on_its_day_as_it_happens(alice):
    from items.models import DownloadDay

    item = make_item(alice, "Counted")
    version = item.versions.first()
    for _ in range(3):
        services.download_record(version=version)

    assert selectors.download_windows(item)["day"] == 3
    assert list(DownloadDay.objects.values_list("count", flat=True)) == [3]
