"""The site's pages in Chromium against a live server with the seeded demo data.

Each page is saved as a screenshot in tests/artifacts/ (gitignored) for people to look at; the
assertions check what a screenshot cannot prove by itself: thumbnails really load from S3, every
form control has a label, and nothing is wider than a phone's screen.
"""

import os

import pytest
from playwright.sync_api import sync_playwright

from items.management.commands.seed_demo import DEMO_USERNAME
from tests.fixtures.browser import ARTIFACTS, launch_chromium, session_cookie

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def test_the_pages_render_in_a_browser(demo_site, django_user_model):
    ARTIFACTS.mkdir(exist_ok=True)
    base = demo_site.url
    anonymous_pages = [
        ("home", "/"),
        ("list", "/?order=popular"),
        ("item", "/items/marathon-infinity-redux/"),
        ("scenario", "/scenarios/marathon-infinity-redux/"),
        ("tag", "/tags/map/"),
        ("user", "/users/demo/"),
        ("reviews", "/reviews/"),
        ("signup", "/signup/"),
        ("login", "/login/"),
    ]
    owner_pages = [
        ("item-as-owner", "/items/marathon-infinity-redux/"),
        ("item-new", "/items/new"),
        ("item-edit", "/items/pfhor-arena/edit"),
        ("version-new", "/items/pfhor-arena/versions/new"),
        ("screenshots", "/items/marathon-infinity-redux/screenshots/new"),
        ("settings", "/settings/"),
    ]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            desktop = browser.new_context(viewport={"width": 1280, "height": 900})
            page = desktop.new_page()
            for name, path in anonymous_pages:
                assert page.goto(base + path).status == 200, path
                assert page.evaluate(UNLABELLED_CONTROLS) == [], path
                page.screenshot(path=ARTIFACTS / f"site-{name}.png", full_page=True)

            page.goto(base + "/items/marathon-infinity-redux/")
            thumbs = page.locator(".gallery img")
            assert thumbs.count() == 2
            for n in range(2):
                assert thumbs.nth(n).evaluate("img => img.complete && img.naturalWidth") > 0

            owner = browser.new_context(viewport={"width": 1280, "height": 900})
            owner.add_cookies(
                [session_cookie(django_user_model.objects.get(username=DEMO_USERNAME), demo_site)]
            )
            page = owner.new_page()
            for name, path in owner_pages:
                assert page.goto(base + path).status == 200, path
                assert page.evaluate(UNLABELLED_CONTROLS) == [], path
                page.screenshot(path=ARTIFACTS / f"site-{name}.png", full_page=True)

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = phone.new_page()
            for name, path in [
                ("phone-home", "/"),
                ("phone-item", "/items/marathon-infinity-redux/"),
            ]:
                page.goto(base + path)
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
                page.screenshot(path=ARTIFACTS / f"site-{name}.png", full_page=True)
        finally:
            browser.close()
