"""Every page of the site passes axe-core's WCAG 2.1 AA rules in Chromium, for a visitor, an
item's owner and a reviewer, over the seeded demo data (with its thumbnails from S3)."""

import os

import pytest
from playwright.sync_api import sync_playwright

from items import services
from items.management.commands.seed_demo import DEMO_USERNAME, REVIEWER_USERNAME
from items.models import Item, Review
from tests.fixtures.accessibility import axe_script, violations
from tests.fixtures.browser import launch_chromium, session_cookie

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The one page every visitor may meet that is not found: its 404 page must pass too.
MISSING_PAGE = "/items/no-such-item/"


def pages():
    item = Item.objects.get(permalink="marathon-infinity-redux")
    p = item.permalink
    version = item.versions.first()
    shot = item.screenshots.first()
    review = Review.objects.filter(version__item=item).first()
    anyone = [
        "/", "/?order=best", "/?order=week", "/?search=arena", "/?search=nothing-at-all",
        f"/items/{p}/", f"/items/{p}/reviews/{review.pk}", "/scenarios/", f"/scenarios/{p}/",
        "/tags/", "/tags/map/", "/reviews/", "/users/", f"/users/{DEMO_USERNAME}/", "/about/",
        "/login/", "/signup/", "/logout/", "/password_reset/", "/password_reset/done/",
        "/reset/done/", MISSING_PAGE,
    ]  # fmt: skip
    owner = [
        f"/items/{p}/", f"/users/{DEMO_USERNAME}/", "/manage/", "/items/new", f"/items/{p}/edit",
        f"/items/{p}/delete", f"/items/{p}/versions/new",
        f"/items/{p}/versions/{version.pk}/edit", f"/items/{p}/screenshots/new",
        f"/items/{p}/screenshots/{shot.pk}/edit", f"/items/{p}/screenshots/{shot.pk}/delete",
        "/settings/", "/settings/password/",
    ]  # fmt: skip
    reviewer = [
        f"/items/{p}/", "/items/pfhor-arena/reviews/new", f"/items/{p}/reviews/{review.pk}",
        f"/items/{p}/reviews/{review.pk}/edit", f"/items/{p}/reviews/{review.pk}/delete",
    ]  # fmt: skip
    return {None: anyone, DEMO_USERNAME: owner, REVIEWER_USERNAME: reviewer}


UPLOADERS_DRAWN = "!document.querySelector('.s7-uploader[data-s7-state=\"loading\"]')"

FORMS_WITH_ERRORS = {
    None: "/signup/",
    DEMO_USERNAME: "/items/new",
    REVIEWER_USERNAME: "/items/pfhor-arena/reviews/new",
}


@pytest.mark.long(18)
def test_no_page_has_a_wcag_2_1_aa_violation(demo_site, django_user_model):
    # A draft, so the owner's pages show an item still missing a version.
    services.item_save(item=Item(owner=Item.objects.first().owner, name="Draft"), tag_names=[])
    axe_script()
    found = {}
    visited = 0
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for who, paths in pages().items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                if who:
                    user = django_user_model.objects.get(username=who)
                    context.add_cookies([session_cookie(user, demo_site)])
                page = context.new_page()
                for path in paths:
                    response = page.goto(demo_site.url + path)
                    # An uploader draws itself once the server's rules arrive.
                    page.wait_for_function(UPLOADERS_DRAWN)
                    expected = 404 if path == MISSING_PAGE else 200
                    assert response.status == expected, (path, response.status)
                    visited += 1
                    problems = violations(page)
                    if problems:
                        found[f"{who or 'visitor'} {path}"] = problems
                # Forms sent back with their errors shown.
                form_page = FORMS_WITH_ERRORS[who]
                page.goto(demo_site.url + form_page)
                # Past the browser's own checks, so the server's error messages show.
                page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
                page.locator("main form button[type=submit]").last.click()
                page.wait_for_selector(".has-error, .form-errors")
                visited += 1
                problems = violations(page)
                if problems:
                    found[f"{who or 'visitor'} {form_page} (with errors)"] = problems
                context.close()
        finally:
            browser.close()
    assert visited == sum(len(paths) + 1 for paths in pages().values())
    # One line per distinct problem, with the pages it is on: the same header is on every page.
    by_problem = {}
    for where, problems in found.items():
        for problem in problems:
            by_problem.setdefault(problem, []).append(where)
    assert by_problem == {}, "\n".join(
        f"{problem}\n    on {len(where)} page(s): {', '.join(where[:4])}"
        for problem, where in by_problem.items()
    )


def test_the_check_finds_each_kind_of_problem_the_site_once_had():
    broken = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
      <h1>Title</h1><h3>Skipped a level</h3>
      <p style="color:#fff;background:#2f8a3e">Pale green</p>
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
      <a href="/" aria-label="Home page">Simplici7y</a>
    </main></body></html>"""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.set_content(broken)
            kinds = {problem.split(" ", 1)[0] for problem in violations(page)}
        finally:
            browser.close()
    assert kinds == {"heading-order", "color-contrast", "image-alt", "label-content-name-mismatch"}
