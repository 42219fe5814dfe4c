"""Limits on what one visitor can do to the site: downloads counted once a day and throttled,
links announced rather than redirected to, account forms rate-limited, numbers in ASCII."""

import pytest
from django.test import Client, override_settings

from items import services as site
from items.models import Download, Item, Version
from tests.fixtures.counts import forget_this_runs_counts
from tests.fixtures.site import make_item, stored_upload, visitor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    forget_this_runs_counts()


@pytest.fixture
def file_item(alice):
    item = site.item_save(item=Item(owner=alice, name="Eternal"), tag_names=[])
    version = site.version_save(version=Version(item=item, name="1.0", file=stored_upload(alice)))
    return item, version


def counts(version):
    version.refresh_from_db()
    version.item.refresh_from_db()
    return version.downloads_count, version.item.downloads_count, Download.objects.count()


def test_a_visitor_counts_once_per_version_per_day(file_item):
    _, version = file_item
    url = version.download_url()
    for _ in range(3):
        assert visitor("203.0.113.7").get(url).status_code == 302
    assert counts(version) == (1, 1, 1)

    visitor("203.0.113.8").get(url)
    assert counts(version) == (2, 2, 2)


def test_a_logged_in_user_counts_once_whatever_their_address(file_item, bob):
    _, version = file_item
    for address in ("203.0.113.7", "198.51.100.1"):
        browser = visitor(address)
        browser.force_login(bob)
        browser.get(version.download_url())
    assert counts(version) == (1, 1, 1)
    assert Download.objects.get().user == bob


@pytest.mark.parametrize(
    "headers",
    [
        # <img src="…/downloads/new"> is refused: tests/items/test_markdown.py
        {"HTTP_SEC_FETCH_DEST": "iframe"},
        {"HTTP_SEC_FETCH_DEST": "empty"},  # fetch()
        {"HTTP_SEC_FETCH_DEST": "document", "HTTP_SEC_PURPOSE": "prefetch"},
        {"HTTP_SEC_FETCH_DEST": "document", "HTTP_SEC_PURPOSE": "prefetch;prerender"},
        {"HTTP_PURPOSE": "prefetch"},
        {"HTTP_X_MOZ": "prefetch"},
    ],
)
def test_a_frame_a_fetch_or_a_prefetch_counts_nothing(file_item, headers):
    _, version = file_item
    assert visitor("203.0.113.7").get(version.download_url(), **headers).status_code == 302
    assert counts(version) == (0, 0, 0)


def test_a_followed_link_counts(file_item):
    _, version = file_item
    visitor("203.0.113.7").get(version.download_url(), HTTP_SEC_FETCH_DEST="document")
    assert counts(version)[0] == 1


@override_settings(ITEMS_RATE_DOWNLOAD="3/min")
def test_the_download_is_throttled_per_address(file_item):
    _, version = file_item
    answers = [visitor("203.0.113.7").get(version.download_url()) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert "Too many downloads from your address" in answers[-1].content.decode()
    assert int(answers[-1]["Retry-After"]) > 0
    assert visitor("203.0.113.8").get(version.download_url()).status_code == 302


def test_a_link_is_announced_not_redirected_to(alice):
    item = make_item(alice, "Elsewhere", link="https://evil.example.net/payload.exe")
    version = item.versions.get()

    response = visitor("203.0.113.7").get(version.download_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "You are leaving Simplici7y for evil.example.net" in page
    assert 'href="https://evil.example.net/payload.exe" rel="nofollow noopener noreferrer"' in page
    assert counts(version)[0] == 1


@pytest.mark.parametrize("value", ["²", "١", "1.5", "-1", "x", "9" * 30])
def test_a_version_number_that_is_not_ascii_digits_is_404(file_item, value):
    item, _ = file_item
    response = Client().get(f"/items/{item.permalink}/downloads/new", {"version": value})
    assert response.status_code == 404


def test_a_screenshot_position_that_is_not_ascii_digits_is_a_form_error(alice):
    item = site.item_save(item=Item(owner=alice, name="Shots"), tag_names=[])
    shot = site.screenshots_add(
        item=item,
        uploads_and_titles=[(stored_upload(alice, filename="a.png", purpose="screenshot"), "")],
    )[0]
    browser = Client()
    browser.force_login(alice)
    response = browser.post(
        f"/items/{item.permalink}/screenshots/new",
        {"action": "arrange", f"order_{shot.pk}": "²", f"title_{shot.pk}": "New title"},
        follow=True,
    )
    assert response.status_code == 200
    assert "The position “²” is not a whole number" in response.content.decode()
    shot.refresh_from_db()
    assert shot.title == ""


# --- Account forms ----------------------------------------------------------------------------


RATES = {
    "login": {"address": "5/15min", "account": "3/15min"},
    "signup": {"address": "2/hour"},
    "password_reset": {"address": "5/hour", "account": "2/hour"},
}


@override_settings(ITEMS_RATES=RATES)
def test_sign_up_is_limited_per_address():
    browser = visitor("203.0.113.7")
    answers = [browser.post("/signup/", {"username": f"new{n}"}) for n in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert "Too many sign-ups from your address." in answers[-1].content.decode()


@override_settings(ITEMS_RATES=RATES)
def test_password_reset_is_limited_per_account(alice, mailoutbox):
    answers = [
        visitor(f"198.51.100.{n}").post("/password_reset/", {"email": "alice@example.org"})
        for n in range(3)
    ]
    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert len(mailoutbox) == 2
    assert "Too many password reset requests for this account." in answers[-1].content.decode()


@override_settings(ITEMS_RATES=RATES, TRUSTED_PROXY_COUNT=1)
def test_behind_the_router_the_forwarded_address_is_the_visitors():
    answers = [
        Client(REMOTE_ADDR="10.0.0.1").post(
            "/signup/", {"username": "x"}, HTTP_X_FORWARDED_FOR=f"1.2.3.4, 203.0.113.{n}"
        )
        for n in (7, 7, 7, 8)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429, 200]


def test_a_rate_that_cannot_be_read_stops_start_up(settings):
    from django.core.checks import run_checks

    settings.ITEMS_RATE_DOWNLOAD = "sixty a minute"
    errors = [error for error in run_checks() if error.id == "items.E001"]
    assert [error.msg for error in errors] == [
        "ITEMS_RATE_DOWNLOAD: A rate reads like 10/min or 20/15min, not 'sixty a minute'."
    ]
