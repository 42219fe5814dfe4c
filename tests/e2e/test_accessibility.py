"""Every page of the site passes axe-core's WCAG 2.1 AA rules in Chromium, for a visitor, an
item's owner and a reviewer, over the seeded demo data (with its thumbnails from S3)."""

import os

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import sync_playwright

from items import services
from items.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERNAME, REVIEWER_USERNAME
from items.models import Item, Review, Screenshot, Version
from tests.fixtures.accessibility import axe_script, violations
from tests.fixtures.uploading import wait_for_state
from uploads.core.models import UploadState

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture
def demo_site(live_server, celery_worker, django_user_model):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    for upload_id in [*Version.objects.exclude(file=None).values_list("file_id", flat=True),
                      *Screenshot.objects.values_list("upload_id", flat=True)]:  # fmt: skip
        wait_for_state(upload_id, {UploadState.READY})
    reviewer = django_user_model.objects.get(username=REVIEWER_USERNAME)
    reviewer.set_password(DEMO_PASSWORD)
    reviewer.save()
    # A draft, so the owner's pages show an item still missing a version.
    services.item_save(item=Item(owner=Item.objects.first().owner, name="Draft"), tag_names=[])
    return live_server


def cookie_of(username, live_server):
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": live_server.url}


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
        "/reset/done/", "/items/no-such-item/",
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


FORMS_WITH_ERRORS = {
    None: "/signup/",
    DEMO_USERNAME: "/items/new",
    REVIEWER_USERNAME: "/items/pfhor-arena/reviews/new",
}


def test_no_page_has_a_wcag_2_1_aa_violation(demo_site):
    axe_script()
    found = {}
    visited = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            for who, paths in pages().items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                if who:
                    context.add_cookies([cookie_of(who, demo_site)])
                page = context.new_page()
                for path in paths:
                    response = page.goto(demo_site.url + path, wait_until="networkidle")
                    assert response.status in (200, 404), (path, response.status)
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
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_content(broken)
            kinds = {problem.split(" ", 1)[0] for problem in violations(page)}
        finally:
            browser.close()
    assert kinds == {"heading-order", "color-contrast", "image-alt", "label-content-name-mismatch"}
