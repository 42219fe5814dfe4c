"""Every URL of the old site keeps its meaning, walked over the seeded demo data."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from items.management.commands.seed_demo import REVIEWER_USERNAME
from items.models import Item, Review, Screenshot, Tag, Version
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


def client_for(username):
    client = Client()
    assert client.login(username=username, password="demo-password-7")
    return client


def test_seeding_twice_changes_nothing(seeded):
    counts = (Item.objects.count(), Version.objects.count(), Tag.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (Item.objects.count(), Version.objects.count(), Tag.objects.count()) == counts
    assert counts[0] == 4


ORDERS = ["new", "old", "reviews", "best", "worst", "loud", "popular", "random", "day", "week",
          "month"]  # fmt: skip


def walk_of_the_live_site(item, reviewer, staff):
    """Every URL LIVE_SITE.md lists, over the demo data: (path, who asks, status, where a
    redirect must lead). Pages that need someone are asked by the right person, and anonymous
    visitors of those pages are sent to log in."""
    owner, anonymous = client_for("demo"), Client()
    author = Client()
    author.force_login(reviewer)
    admin = Client()
    admin.force_login(staff)
    p = item.permalink
    version = item.versions.first()
    review = Review.objects.filter(version__item=item, user=reviewer).first()
    shot = item.screenshots.first()
    tag = item.tags.first()
    demo = item.owner
    uid = urlsafe_base64_encode(force_bytes(demo.pk))
    token = default_token_generator.make_token(demo)
    walk = [
        # The live Django site.
        ("/", anonymous, 200, None),
        ("/items/", anonymous, 301, "/"),
        ("/items/?search=arena&order=best", anonymous, 301, "/?search=arena&order=best"),
        (f"/items/{p}/", anonymous, 200, None),
        ("/items/new", anonymous, 302, "/login/?next=/items/new"),
        ("/items/new", owner, 200, None),
        (f"/items/{p}/edit", owner, 200, None),
        (f"/items/{p}/delete", owner, 200, None),
        (f"/items/{p}/versions/new", owner, 200, None),
        (f"/items/{p}/versions/{version.pk}/edit", owner, 200, None),
        (f"/items/{p}/reviews/new", anonymous, 302, f"/login/?next=/items/{p}/reviews/new"),
        ("/items/pfhor-arena/reviews/new", author, 200, None),
        (f"/items/{p}/reviews/{review.pk}", anonymous, 200, None),
        (f"/items/{p}/reviews/{review.pk}/edit", author, 200, None),
        (f"/items/{p}/reviews/{review.pk}/delete", author, 200, None),
        (f"/items/{p}/screenshots/new", owner, 200, None),
        (f"/items/{p}/screenshots/{shot.pk}/edit", owner, 200, None),
        (f"/items/{p}/screenshots/{shot.pk}/delete", owner, 200, None),
        (f"/items/{p}/downloads/new", anonymous, 302, "http://127.0.0.1:"),
        ("/items/classic-physics/downloads/new", anonymous, 200, None),  # "you are leaving"
        ("/scenarios/", anonymous, 200, None),
        (f"/scenarios/{p}/", anonymous, 200, None),
        ("/tags/", anonymous, 200, None),
        (f"/tags/{tag.permalink}/", anonymous, 200, None),
        (f"/tags/{tag.name.upper()}/", anonymous, 301, f"/tags/{tag.permalink}/"),
        ("/reviews/", anonymous, 200, None),
        ("/reviews/?page=2", anonymous, 200, None),
        ("/users/", anonymous, 200, None),
        ("/users/demo/", anonymous, 200, None),
        ("/login/", anonymous, 200, None),
        ("/logout/", anonymous, 200, None),
        ("/signup/", anonymous, 200, None),
        ("/settings/", anonymous, 302, "/login/?next=/settings/"),
        ("/settings/", owner, 200, None),
        ("/password_reset/", anonymous, 200, None),
        ("/password_reset/done/", anonymous, 200, None),
        (f"/reset/{uid}/{token}/", anonymous, 302, f"/reset/{uid}/set-password/"),
        ("/reset/done/", anonymous, 200, None),
        ("/items.rss", anonymous, 200, None),
        ("/reviews.rss", anonymous, 200, None),
        ("/sitemap.xml", anonymous, 200, None),
        *[(f"/api/{name}/", anonymous, 200, None)
          for name in ["items", "versions", "downloads", "reviews", "screenshots", "tags"]],
        ("/terminal/", admin, 301, "/admin/"),
        ("/terminal/items/item/", admin, 301, "/admin/items/item/"),
        ("/admin/", admin, 200, None),
        ("/admin/items/item/", admin, 200, None),
        # The Rails era, still in forum posts.
        (f"/items/{p}/download", anonymous, 301, f"/items/{p}/downloads/new"),
        (f"/items/{p}", anonymous, 301, f"/items/{p}/"),
        (f"/tags/{tag.permalink}", anonymous, 301, f"/tags/{tag.permalink}/"),
        ("/users/demo", anonymous, 301, "/users/demo/"),
        ("/reviews", anonymous, 301, "/reviews/"),
        ("/signup", anonymous, 301, "/signup/"),
        ("/login", anonymous, 301, "/login/"),
        ("/logout", anonymous, 301, "/logout/"),
        # The live About page, before an item of that name is imported.
        ("/items/simplici7y/", anonymous, 302, "/about/"),
        ("/about/", anonymous, 200, None),
    ]  # fmt: skip
    for page in ["/", f"/users/{demo.username}/", f"/tags/{tag.permalink}/", f"/scenarios/{p}/"]:
        walk += [(f"{page}?order={order}", anonymous, 200, None) for order in ORDERS]
        walk += [(f"{page}?search=arena&order=old&page=1", anonymous, 200, None)]
        walk += [(f"{page}?page=2", anonymous, 200, None)]
    return walk


def test_every_url_of_the_live_site_answers_over_the_demo_data(seeded, django_user_model):
    item = seeded
    reviewer = django_user_model.objects.get(username=REVIEWER_USERNAME)
    staff = django_user_model.objects.create_user("operator", is_staff=True, is_superuser=True)
    walk = walk_of_the_live_site(item, reviewer, staff)
    for path, client, status, target in walk:
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code)
        if target:
            assert response["Location"].startswith(target), (path, response["Location"])


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
