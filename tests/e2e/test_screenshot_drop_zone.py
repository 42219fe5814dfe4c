"""The screenshots page's one drop zone: many images at once, each added as soon as it is ready,
in the order they were dropped (Chromium against a live server, SeaweedFS and a worker)."""

import os

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from items.models import Screenshot
from tests.fixtures.browser import launch_chromium, session_cookie
from tests.fixtures.site import make_item
from tests.fixtures.worker_app import stall_stage

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def images(folder):
    """Three PNGs; the first is the largest (and the worker holds it back: it is ready last)."""
    paths = []
    for name, size, noise in [("first", (1800, 1350), True), ("second", (320, 240), False),
                              ("third", (320, 240), False)]:  # fmt: skip
        path = folder / f"{name}.png"
        image = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size)
        image.save(path, "PNG")
        paths.append(path)
    return paths


def test_many_images_dropped_at_once_become_screenshots_in_drop_order(
    live_server, bucket_allows_live_server, celery_worker, alice, tmp_path
):
    item = make_item(alice, "Gallery")
    # Being the largest does not make it ready last on a busy machine; the worker's stall does.
    stall_stage("first.png", "processing", seconds=3)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(base_url=live_server.url)
            context.add_cookies([session_cookie(alice, live_server)])
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"/items/{item.permalink}/screenshots/new")
            zones = page.locator(".s7-uploader")
            assert zones.count() == 1
            page.wait_for_selector('.s7-uploader[data-s7-state="idle"]')
            with page.expect_navigation():  # the page reloads once every image is added
                zones.locator("input.uppy-Dashboard-input[name='files[]']").first.set_input_files(
                    [str(path) for path in images(tmp_path)]
                )
            page.wait_for_selector(".gallery.editable fieldset >> nth=2")
            legends = page.locator(".gallery.editable legend").all_inner_texts()
        finally:
            browser.close()
    shots = list(Screenshot.objects.filter(item=item).select_related("upload"))
    assert [shot.upload.filename for shot in shots] == ["first.png", "second.png", "third.png"]
    assert [shot.order for shot in shots] == [0, 1, 2]
    assert legends == ["first.png", "second.png", "third.png"]
    assert all(shot.thumb for shot in shots)
    # The largest was ready last, and still came first: drop order, not the order of readiness.
    assert shots[0].upload.ready_at > max(shot.upload.ready_at for shot in shots[1:])
