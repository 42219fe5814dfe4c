"""The admin's analytics page in Chromium, with a month of fixture data, in the light and the
dark admin theme; each is saved in tests/artifacts/ for people to look at."""

import os
from datetime import UTC, datetime

import pytest
from playwright.sync_api import sync_playwright

from tests.fixtures.analytics import a_month_of_activity, at, make_upload
from tests.fixtures.browser import ARTIFACTS, launch_chromium, session_cookie

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# What a chart shows: how many bars and points it drew, and the colour of its axis labels.
CHARTS = """() => [...document.querySelectorAll('svg.s7-chart')].map(svg => ({
  marks: svg.querySelectorAll('rect, circle').length,
  width: svg.getBoundingClientRect().width,
  axis: getComputedStyle(svg.querySelector('.s7-axis')).fill,
}))"""


def test_the_analytics_page_draws_its_charts_in_both_themes(live_server, admin_user):
    a_month_of_activity(admin_user, datetime.now(UTC).date())
    cookie = session_cookie(admin_user, live_server)
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{live_server.url}/admin/uploads/uploadanalytics/?window=30"
    seen = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 1280, "height": 900}, color_scheme=scheme
                )
                context.add_cookies([cookie])
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda error, found=errors: found.append(str(error)))
                assert page.goto(url).status == 200
                charts = page.evaluate(CHARTS)
                page.screenshot(path=ARTIFACTS / f"analytics-{scheme}.png", full_page=True)
                assert errors == []
                assert len(charts) == 9
                assert all(chart["marks"] > 0 and chart["width"] > 300 for chart in charts)
                assert page.locator("#figure-failure-reasons tbody tr").count() >= 1
                assert page.locator("#figure-slowest-uploads tbody a").count() == 10
                seen[scheme] = charts[0]["axis"]

                with page.expect_download() as download:
                    page.locator("#figure-uploads-per-day figcaption a").click()
                lines = open(download.value.path()).read().splitlines()
                assert lines[0] == "day,started,ready,failed,aborted,expired,still open"
                assert len(lines) == 31
                context.close()
        finally:
            browser.close()
    # The axis labels take the admin's quiet text colour of each theme.
    assert seen["light"] == "rgb(102, 102, 102)" and seen["dark"] == "rgb(208, 208, 208)"


# Whatever spills out of its box: axis labels left of the chart's edge, headline figures wider
# than their card.
SPILLS = """() => ({
  labels: [...document.querySelectorAll('svg.s7-chart text.s7-axis')]
    .filter(text => text.getBBox().x < 0).map(text => text.textContent),
  cards: [...document.querySelectorAll('.s7-headline dd')]
    .filter(dd => dd.scrollWidth > dd.clientWidth).map(dd => dd.textContent),
})"""


def test_the_largest_counts_a_row_can_hold_fit_their_card_and_axis(live_server, admin_user):
    today = datetime.now(UTC).date()
    for hour in range(10):
        make_upload(admin_user, created=at(today, hour), state="ready", size=1,
                    parts_retried=2**31 - 1)  # fmt: skip
    cookie = session_cookie(admin_user, live_server)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            # A small window, where the headline's cards are narrow.
            context = browser.new_context(viewport={"width": 800, "height": 900})
            context.add_cookies([cookie])
            page = context.new_page()
            assert page.goto(f"{live_server.url}/admin/uploads/uploadanalytics/").status == 200
            assert page.locator(".s7-headline dd").nth(10).inner_text() == "21,474,836,470"
            assert page.evaluate(SPILLS) == {"labels": [], "cards": []}
        finally:
            browser.close()
