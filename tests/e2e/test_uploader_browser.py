"""The browser uploader, driven in Chromium against a live server, SeaweedFS and a Celery worker.

Failures a real network produces only by chance (a dropped connection, a URL that expires while
its request waits) are made with Playwright's request interception: the request itself is real
and reaches SeaweedFS, or is cut, exactly as it would be on a bad network.
"""

import hashlib
import os
import time
import zipfile
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import sync_playwright

from tests.fixtures.browser import ARTIFACTS, launch_chromium, session_cookie
from tests.fixtures.uploading import wait_for_sha256
from tests.fixtures.worker_app import stall_stage
from uploads.conf import settings as engine_settings
from uploads.core.models import Upload
from uploads.core.parts import held_parts
from uploads.storage import objects

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# between browser steps are plain synchronous calls all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MiB = 1024 * 1024
ENDED = ("ready", "failed")


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def signed_in_page(browser, live_server, bucket_allows_live_server, celery_worker):
    """Pages of separate browser contexts (no shared storage), each signed in as ``user``."""
    contexts = []

    def open_page(user):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1000, "height": 1200}
        )
        contexts.append(context)
        context.add_cookies([session_cookie(user, live_server)])
        return watched(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(signed_in_page, alice):
    return signed_in_page(alice)


def watched(page):
    page.set_default_timeout(60_000)
    page.puts = []  # (part number, upload id) of every part PUT the browser started
    page.part_statuses = []  # (part number, HTTP status) of every part PUT that got an answer
    page.api_calls = []  # (method, path) of every call to the upload API
    page.on("request", lambda request: _record_request(page, request))
    page.on("response", lambda response: _record_response(page, response))
    return page


def _part_of(url: str) -> tuple[int, str] | None:
    query = parse_qs(urlparse(url).query)
    if "partNumber" not in query:
        return None
    return int(query["partNumber"][0]), query["uploadId"][0]


def _record_request(page, request):
    if request.method == "PUT" and _part_of(request.url):
        page.puts.append(_part_of(request.url))
    elif "/api/uploads/" in request.url:
        page.api_calls.append((request.method, urlparse(request.url).path))


def _record_response(page, response):
    part = _part_of(response.url)
    if response.request.method == "PUT" and part:
        page.part_statuses.append((part[0], response.status))


# --- Helpers --------------------------------------------------------------------------------


def a_zip(path: Path, size: int, seed: bytes = b"") -> bytes:
    """A genuine ZIP of about ``size`` bytes (the worker checks a .zip is one) of random content."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("scenario.sceA", seed + os.urandom(size - len(seed) - 200))
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def open_demo(page):
    page.goto("/uploads/demo/")
    # Watch every state the uploaders pass through, to prove later that no error was ever shown.
    page.evaluate(
        """() => {
            window.s7States = []
            for (const root of document.querySelectorAll('.s7-uploader')) {
                new MutationObserver(() => window.s7States.push(root.dataset.s7State))
                    .observe(root, { attributes: true, attributeFilter: ['data-s7-state'] })
            }
        }"""
    )
    for field in ("version_file", "screenshot"):
        page.wait_for_selector(f'#id_{field}-uploader[data-s7-state="idle"]')


def pick(page, field: str, path: Path):
    page.locator(
        f"#id_{field}-uploader input.uppy-Dashboard-input[name='files[]']"
    ).first.set_input_files(str(path))


def uploader(page, field: str):
    return page.locator(f"#id_{field}-uploader")


def wait_until_ended(page, field: str) -> str:
    try:
        page.wait_for_function(
            """([field, ended]) => ended.includes(
                document.querySelector(`#id_${field}-uploader`).dataset.s7State)""",
            arg=[field, list(ENDED)],
            timeout=120_000,
        )
    except Exception:
        uploads = list(Upload.objects.values_list("filename", "state", "error"))
        raise AssertionError(
            f"the uploader shows {status_of(page, field)!r}; uploads: {uploads}"
        ) from None
    return uploader(page, field).get_attribute("data-s7-state")


def status_of(page, field: str) -> str:
    return uploader(page, field).locator(".s7-upload-status").inner_text()


def assert_ready(page, field: str):
    state = wait_until_ended(page, field)
    assert state == "ready", status_of(page, field)


def wait_for(page, condition, what: str, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        page.wait_for_timeout(50)


def counts(parts) -> dict[int, int]:
    found: dict[int, int] = {}
    for number in parts:
        found[number] = found.get(number, 0) + 1
    return found


def creates(page) -> int:
    return page.api_calls.count(("POST", "/api/uploads/"))


# --- Tests ----------------------------------------------------------------------------------


def test_a_64_mib_file_uploads_from_the_page_and_is_stored_whole(page, tmp_path):
    data = a_zip(tmp_path / "big-map.zip", 64 * MiB)
    open_demo(page)

    started = time.monotonic()
    pick(page, "version_file", tmp_path / "big-map.zip")
    assert_ready(page, "version_file")
    elapsed = time.monotonic() - started

    upload = Upload.objects.get(owner__username="alice", state="ready")
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()
    assert objects.sha256_of_object(upload.key, upload.size) == hashlib.sha256(data).hexdigest()
    assert counts(number for number, _ in page.puts) == {
        n: 1 for n in range(1, upload.part_count + 1)
    }
    assert uploader(page, "version_file").locator("progress").get_attribute("value") == "100"
    assert "Ready" in status_of(page, "version_file")
    assert page.locator("#id_version_file").input_value() == str(upload.pk)
    # Bytes sent are reported to the server, but a few times a minute at most.
    progress_reports = page.api_calls.count(("POST", f"/api/uploads/{upload.pk}/progress/"))
    assert 1 <= progress_reports <= 1 + elapsed // engine_settings.UPLOADS_PROGRESS_REPORT_INTERVAL
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "uploader-after-completion.png"), full_page=True)
    (ARTIFACTS / "timings.txt").write_text(
        f"64 MiB upload ({len(data):,} bytes, {upload.part_count} parts of {upload.part_size:,} bytes), "
        f"pick to ready in Chromium: {elapsed:.2f} s\n"
    )

    # The form then takes the upload as its value.
    page.locator("#upload-demo button[type=submit]").click()
    assert "big-map.zip" in page.locator("#received").inner_text()


def test_a_part_whose_first_attempt_fails_is_sent_again_and_nothing_else_is(page, tmp_path):
    data = a_zip(tmp_path / "map.zip", 32 * MiB)
    failed = []

    def fail_once(route):
        if not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(lambda url: (_part_of(url) or (0,))[0] == 3, fail_once)
    open_demo(page)
    pick(page, "version_file", tmp_path / "map.zip")
    assert_ready(page, "version_file")

    upload = Upload.objects.get(owner__username="alice")
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()
    assert failed, "the interception never saw part 3"
    assert counts(number for number, _ in page.puts) == {1: 1, 2: 1, 3: 2, 4: 1}
    assert "failed" not in page.evaluate("window.s7States")
    # The uploader told the server, for the analytics page.
    assert (upload.parts_retried, upload.resumed) == (1, False)


@pytest.mark.long(35)
def test_an_outage_longer_than_any_retry_heals_by_itself_resending_only_the_parts_in_flight(
    page, tmp_path
):
    data = a_zip(tmp_path / "map.zip", 80 * MiB)
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    # A link slow enough that the outage catches parts on their way.
    link = {"latency": 20, "downloadThroughput": -1, "uploadThroughput": 6 * MiB}
    network.send("Network.emulateNetworkConditions", {"offline": False, **link})
    cut_off = []  # part numbers of the PUTs the outage failed
    page.on(
        "requestfailed",
        lambda request: (
            request.method == "PUT"
            and _part_of(request.url)
            and cut_off.append(_part_of(request.url)[0])
        ),
    )
    open_demo(page)
    pick(page, "version_file", tmp_path / "map.zip")
    # The link goes when a part is on its way: on a loaded machine the page may still be hashing
    # the next parts while the first is already stored.
    wait_for(page, lambda: len(page.puts) > len(page.part_statuses), "a part on its way")

    # The browser loses its connection, as DevTools' offline switch makes it.
    network.send("Network.emulateNetworkConditions", {"offline": True, **link})
    page.wait_for_selector('#id_version_file-uploader[data-s7-state="offline"]')
    assert "Waiting for the connection to come back" in status_of(page, "version_file")
    # Longer than the capped retries of other failures add up to (about 15 s): nothing gives
    # up meanwhile.
    page.wait_for_timeout(22_000)
    assert uploader(page, "version_file").get_attribute("data-s7-state") == "offline"

    network.send("Network.emulateNetworkConditions", {"offline": False, **link})
    assert_ready(page, "version_file")  # and nobody pressed anything

    upload = Upload.objects.get(owner__username="alice")
    sent = counts(number for number, _ in page.puts)
    assert set(sent) == set(range(1, upload.part_count + 1))
    # Bytes sent twice: only the parts the outage cut off, each once more. Each of them held
    # one of the uploader's 6 slots while it waited, so no other part started meanwhile; a part
    # S3 stored is never sent again.
    assert {number for number, times in sent.items() if times > 1} == set(cut_off)
    assert 1 <= len(cut_off) <= 6 and max(sent.values()) <= 2
    assert counts(number for number, status in page.part_statuses if status == 200) == {
        number: 1 for number in sent
    }
    assert "failed" not in page.evaluate("window.s7States")
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()


def test_reloading_mid_upload_and_picking_the_file_again_sends_only_the_missing_parts(
    page, signed_in_page, alice, tmp_path
):
    (tmp_path / "original").mkdir()
    (tmp_path / "impostor").mkdir()
    original = a_zip(tmp_path / "original" / "map.zip", 48 * MiB)
    impostor = a_zip(tmp_path / "impostor" / "map.zip", 48 * MiB)
    assert len(original) == len(impostor) and original != impostor

    # Parts 3 and later never get an answer: the page is reloaded while they hang.
    held = []
    page.route(lambda url: (_part_of(url) or (0,))[0] >= 3, lambda route: held.append(route))
    open_demo(page)
    pick(page, "version_file", tmp_path / "original" / "map.zip")
    wait_for(
        page,
        lambda: sorted(n for n, s in page.part_statuses if s == 200) == [1, 2],
        "parts 1 and 2",
    )
    wait_for(page, lambda: len(held) >= 1, "a held part")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "uploader-mid-upload.png"), full_page=True)

    # Reloading first drops the held requests unsent; unrouting first would let them go to S3.
    page.reload()
    page.unroute_all(behavior="ignoreErrors")
    unfinished = Upload.objects.get(owner__username="alice")
    assert unfinished.state == "uploading"
    assert sorted(part.part_number for part in held_parts(unfinished)) == [1, 2]

    # Another file of the same name and size is not stitched onto those parts: it starts afresh.
    open_demo(page)
    page.puts.clear()
    page.api_calls.clear()
    pick(page, "version_file", tmp_path / "impostor" / "map.zip")
    assert_ready(page, "version_file")
    fresh = Upload.objects.exclude(pk=unfinished.pk).get(owner__username="alice")
    assert creates(page) == 1
    assert wait_for_sha256(fresh.pk).sha256 == hashlib.sha256(impostor).hexdigest()
    assert sorted(number for number, _ in page.puts) == list(range(1, fresh.part_count + 1))

    # The original, picked again in another browser, resumes: only the parts S3 lacks are sent.
    page = signed_in_page(alice)
    open_demo(page)
    page.puts.clear()
    page.api_calls.clear()
    pick(page, "version_file", tmp_path / "original" / "map.zip")
    assert_ready(page, "version_file")
    unfinished.refresh_from_db()
    assert unfinished.state == "ready"
    assert wait_for_sha256(unfinished.pk).sha256 == hashlib.sha256(original).hexdigest()
    assert creates(page) == 0
    assert sorted(number for number, _ in page.puts) == list(range(3, unfinished.part_count + 1))
    assert all(upload_id == unfinished.s3_upload_id for _, upload_id in page.puts)
    assert uploader(page, "version_file").get_attribute("data-s7-resumed-parts") == "2"
    assert unfinished.resumed and not fresh.resumed


def test_pausing_and_resuming_sends_only_the_parts_not_yet_stored(page, tmp_path):
    data = a_zip(tmp_path / "map.zip", 40 * MiB)
    held = []
    page.route(lambda url: (_part_of(url) or (0,))[0] >= 3, lambda route: held.append(route))
    open_demo(page)
    pick(page, "version_file", tmp_path / "map.zip")
    wait_for(
        page,
        lambda: sorted(n for n, s in page.part_statuses if s == 200) == [1, 2],
        "parts 1 and 2",
    )
    wait_for(page, lambda: len(held) >= 1, "a held part")

    page.get_by_role("button", name="Pause upload").click()
    page.wait_for_selector('#id_version_file-uploader[data-s7-state="paused"]')
    page.unroute_all(behavior="ignoreErrors")
    page.puts.clear()
    page.get_by_role("button", name="Resume upload").click()
    assert_ready(page, "version_file")

    upload = Upload.objects.get(owner__username="alice")
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(number for number, _ in page.puts) == list(range(3, upload.part_count + 1))


def test_an_expired_part_url_is_replaced_without_the_user_seeing_an_error(page, tmp_path, settings):
    # Short enough to wait out, long enough that the other parts' URLs do not expire in the
    # browser's queue on a loaded machine.
    settings.UPLOADS_PART_URL_EXPIRES = 10
    data = a_zip(tmp_path / "map.zip", 24 * MiB)
    held = []

    def hold_first_attempt(route):
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route(lambda url: (_part_of(url) or (0,))[0] == 2, hold_first_attempt)
    open_demo(page)
    pick(page, "version_file", tmp_path / "map.zip")
    wait_for(page, lambda: held, "part 2's first attempt")
    query = parse_qs(urlparse(held[0].request.url).query)
    signed_at = time.mktime(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")) - time.timezone
    expires_at = signed_at + int(query["X-Amz-Expires"][0])
    # Let the held request go only once its URL has expired, as a stalled connection would.
    wait_for(page, lambda: time.time() > expires_at + 1.5, "the URL to expire", timeout_s=30)
    held[0].continue_()
    assert_ready(page, "version_file")

    upload = Upload.objects.get(owner__username="alice")
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()
    # The held URL is refused, and a fresh one takes the part (or, should a fresh one too expire
    # before its request goes out, the next).
    statuses = [status for number, status in page.part_statuses if number == 2]
    assert statuses[0] == 403 and statuses[-1] == 200 and set(statuses[1:-1]) <= {403}, statuses
    assert "failed" not in page.evaluate("window.s7States")


def test_a_file_over_the_limit_or_of_a_forbidden_type_is_refused_before_any_request(page, tmp_path):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as file:
        file.truncate(settings.UPLOADS_SCREENSHOT_MAX_SIZE + 1)
    (tmp_path / "tool.exe").write_bytes(b"MZ" + os.urandom(1000))
    open_demo(page)

    pick(page, "screenshot", huge)
    uploader(page, "screenshot").locator('[data-s7-state="rejected"]').or_(
        page.locator('#id_screenshot-uploader[data-s7-state="rejected"]')
    ).first.wait_for()
    assert status_of(page, "screenshot") == (
        "“huge.png” is too large: it is 20.0 MiB, and files here may be at most 20 MiB."
    )

    pick(page, "version_file", tmp_path / "tool.exe")
    page.wait_for_selector('#id_version_file-uploader[data-s7-state="rejected"]')
    assert status_of(page, "version_file").startswith(
        "“tool.exe” cannot be uploaded here: .exe files are not accepted. Accepted: "
    )
    assert creates(page) == 0
    assert not Upload.objects.exists()


def test_a_screenshot_shows_the_making_thumbnails_stage_while_the_worker_makes_them(page, tmp_path):
    Image.new("RGB", (800, 600), (200, 60, 30)).save(tmp_path / "slow-arena.png")
    # The renditions take a fraction of a second; the session's worker holds this upload in
    # that stage for a few seconds so that the page's polling surely sees it.
    stall_stage("slow-arena.png", "processing", seconds=4)
    open_demo(page)
    page.evaluate(
        """() => {
            window.s7Statuses = []
            const status = document.querySelector('#id_screenshot-uploader .s7-upload-status')
            new MutationObserver(() => window.s7Statuses.push(status.textContent))
                .observe(status, { childList: true, characterData: true, subtree: true })
        }"""
    )

    pick(page, "screenshot", tmp_path / "slow-arena.png")
    assert_ready(page, "screenshot")

    shown = page.evaluate("window.s7Statuses")
    assert "Uploaded 100% of “slow-arena.png”. Making thumbnails…" in shown, shown
    assert "Uploaded 100% of “slow-arena.png”. Verifying the stored file…" in shown, shown


def test_a_screenshot_shows_its_thumbnail_once_ready_and_a_broken_one_says_why(page, tmp_path):
    picture = Image.new("RGB", (1280, 960), (30, 90, 160))
    for x in range(0, 1280, 80):
        picture.paste((240, 200, 40), (x, 0, x + 40, 960))
    picture.save(tmp_path / "arena.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    open_demo(page)

    pick(page, "screenshot", tmp_path / "arena.png")
    assert_ready(page, "screenshot")
    thumb = uploader(page, "screenshot").locator("img.s7-upload-thumb")
    thumb.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
    )
    assert page.evaluate(
        "img => [img.naturalWidth, img.naturalHeight]", thumb.element_handle()
    ) == [300, 225]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "uploader-screenshot-thumbnail.png"), full_page=True)

    page.reload()
    open_demo(page)
    pick(page, "screenshot", tmp_path / "broken.png")
    assert wait_until_ended(page, "screenshot") == "failed"
    broken = Upload.objects.get(owner__username="alice", filename="broken.png")
    assert broken.state == "failed" and broken.error
    assert status_of(page, "screenshot") == broken.error


def test_a_file_past_the_quota_is_refused_with_what_is_used_and_allowed(
    page, tmp_path, alice, settings
):
    from tests.fixtures.site import ready_upload

    settings.UPLOADS_QUOTA_BYTES = 1000**3
    ready_upload(alice, size=990_000_000)
    a_zip(tmp_path / "episode.zip", 12 * 1000 * 1000)
    open_demo(page)

    pick(page, "version_file", tmp_path / "episode.zip")
    page.wait_for_function(
        "() => /exceed/.test(document.querySelector('#id_version_file-uploader').innerText)"
    )

    page.screenshot(path=str(ARTIFACTS / "uploader-over-quota.png"))
    assert status_of(page, "version_file") == (
        "You have used 990 MB of your 1 GB; this 12 MB file would exceed it."
    )
    assert page.puts == []
    assert Upload.objects.filter(owner=alice).count() == 1
