"""The worker verifies and processes what users upload: real Redis, Celery worker, SeaweedFS."""

import hashlib
import io
import os
import re

import pytest
from django.utils import timezone
from PIL import Image

from tests.fixtures.uploading import (
    send_all_parts,
    start_upload,
    wait_for_state,
    wait_until_deleted,
)
from tests.fixtures.worker import (
    BLUE,
    RED,
    camera_jpeg,
    completed_upload,
    photo_with_orientation,
    png,
    png_bomb,
    png_html_polyglot,
    truncated_jpeg,
    upload_screenshot,
)
from uploads.core import progress
from uploads.core.models import Upload
from uploads.core.signals import upload_stage_entered
from uploads.storage import s3
from uploads.worker import processing

pytestmark = pytest.mark.django_db(transaction=True)

FINAL = {"ready", "failed"}
MiB = 1024 * 1024


def stored(key) -> bytes:
    return s3.client().get_object(Bucket=s3.bucket(), Key=key)["Body"].read()


def close_to(pixel, color, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


def test_a_screenshot_becomes_two_exif_rotated_renditions_without_metadata(
    celery_worker, alice_api
):
    data = photo_with_orientation((1600, 1200), orientation=6)
    upload_id = upload_screenshot(alice_api, data, filename="Rubicon 1.jpg")

    upload = wait_for_state(upload_id, FINAL)

    assert upload.state == "ready", upload.error
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(stored(upload.key)).hexdigest() == upload.sha256
    assert (upload.result["width"], upload.result["height"], upload.result["format"]) == (
        1200,
        1600,
        "JPEG",
    )
    renditions = upload.result["renditions"]
    folder = upload.key.rsplit("/", 1)[0]
    expected = {"thumb": (300, 400), "content": (920, 1227)}
    for name, size in expected.items():
        recorded = renditions[name]
        assert recorded["key"] == f"{folder}/renditions/{name}.jpg"
        body = stored(recorded["key"])
        assert recorded["bytes"] == len(body)
        image = Image.open(io.BytesIO(body))
        assert image.format == "JPEG"
        assert image.size == size == (recorded["width"], recorded["height"])
        assert not image.getexif() and "exif" not in image.info
        rgb = image.convert("RGB")
        # Stored top-left, turned 90° clockwise: the red quarter is now top-right.
        assert close_to(rgb.getpixel((size[0] - 5, 5)), RED)
        assert close_to(rgb.getpixel((5, 5)), BLUE)
    assert progress.read(upload_id)["stage"] == "ready"
    assert upload.result["worker"]["peak_rss"] > 0


@pytest.mark.parametrize(
    "name, data, filename, expected",
    [
        ("truncated JPEG", truncated_jpeg(), "cut.jpg", "damaged or incomplete"),
        ("decompression bomb", png_bomb(), "bomb.png", "too large to process"),
        ("PNG signature before a page", png_html_polyglot(), "poly.png", "damaged or incomplete"),
        (
            "a page named .png",
            b"<!DOCTYPE html><html><script>x()</script></html>",
            "page.png",
            "web page",
        ),
        (
            "an SVG named .png",
            b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "vector.png",
            "web page",
        ),
        (
            "an EPS named .jpg",
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
            "print.jpg",
            "not a JPEG",
        ),
    ],
)
def test_a_hostile_image_fails_with_a_reason_and_its_object_is_deleted(
    celery_worker, alice_api, name, data, filename, expected
):
    upload_id = upload_screenshot(alice_api, data, filename=filename)

    upload = wait_for_state(upload_id, FINAL)

    assert upload.state == "failed", name
    assert expected in upload.error, (name, upload.error)
    wait_until_deleted(upload.key)
    assert "renditions" not in upload.result
    assert celery_worker.poll() is None


@pytest.mark.parametrize(
    "name, size, expected",
    [
        ("a 1×1 image", (1, 1), {"thumb": (1, 1), "content": (1, 1)}),
        ("a 20000×100 banner", (20000, 100), {"thumb": (300, 2), "content": (920, 5)}),
        ("a 100×20000 tower", (100, 20000), {"thumb": (2, 400), "content": (8, 1600)}),
    ],
)
def test_an_extreme_image_gets_renditions_of_the_right_size(
    celery_worker, alice_api, name, size, expected
):
    upload_id = upload_screenshot(
        alice_api, png(size), filename="odd.png", content_type="image/png"
    )

    upload = wait_for_state(upload_id, FINAL)

    assert upload.state == "ready", (name, upload.error)
    for rendition, dimensions in expected.items():
        recorded = upload.result["renditions"][rendition]
        assert (recorded["width"], recorded["height"]) == dimensions
        assert Image.open(io.BytesIO(stored(recorded["key"]))).size == dimensions


def test_the_worker_survives_every_hostile_image_with_bounded_memory(celery_worker, alice_api):
    hostile = [
        (truncated_jpeg(), "a.jpg"), (png_bomb(), "b.png"), (png_html_polyglot(), "c.png"),
        (png((1, 1)), "d.png"), (png((20000, 100)), "e.png"),
    ]  # fmt: skip
    ids = [
        upload_screenshot(alice_api, data, filename=name, content_type="") for data, name in hostile
    ]
    uploads = [wait_for_state(upload_id, FINAL) for upload_id in ids]

    assert [u.state for u in uploads] == ["failed", "failed", "failed", "ready", "ready"]
    peaks = [u.result["worker"]["peak_rss"] for u in uploads if u.result.get("worker")]
    print(f"\nworker peak RSS over the hostile images: {max(peaks) / 2**20:.0f} MiB")
    assert max(peaks) < 300 * 2**20
    assert celery_worker.poll() is None
    log = celery_worker.log_path.read_text(errors="replace")
    assert not re.search(r"WorkerLostError|exited with 'signal|MemoryError", log)


def test_a_24_megapixel_photo_is_processed_within_the_worker_memory_budget(
    celery_worker, alice_api
):
    data = camera_jpeg((6000, 4000))
    upload_id = upload_screenshot(alice_api, data, filename="camera.jpg")

    upload = wait_for_state(upload_id, FINAL, timeout=120)

    assert upload.state == "ready", upload.error
    assert (upload.result["width"], upload.result["height"]) == (6000, 4000)
    assert upload.result["renditions"]["content"]["width"] == 920
    worker = upload.result["worker"]
    processing = (upload.ready_at - upload.processing_at).total_seconds()
    print(
        f"\n24 MP JPEG ({len(data) / 2**20:.1f} MiB): task {worker['seconds']:.2f} s, "
        f"processing→ready {processing:.2f} s, peak RSS {worker['peak_rss'] / 2**20:.0f} MiB"
    )
    assert worker["peak_rss"] < 300 * 2**20


@pytest.mark.parametrize(
    "filename, data, expected",
    [
        ("map.sit", b"PK\x03\x04" + os.urandom(5000), "ZIP file, but its name says StuffIt"),
        ("map.zip", os.urandom(5000), "not a ZIP file"),
        ("Map.sceA", b"\n\n<html><body>Free download</body></html>", "web page"),
        ("notes.txt", b"\x7fELF\x02\x01\x01" + bytes(5000), "ELF program"),
    ],
)
def test_a_version_file_that_is_not_what_its_name_says_fails_and_is_deleted(
    celery_worker, alice_api, filename, data, expected
):
    upload = start_upload(alice_api, data, filename=filename)
    send_all_parts(alice_api, upload, data)
    assert (
        alice_api.post(f"/api/uploads/{upload['id']}/complete/", {}, format="json").status_code
        == 202
    )

    done = wait_for_state(upload["id"], FINAL)

    assert done.state == "failed"
    assert expected in done.error
    wait_until_deleted(done.key)


@pytest.mark.parametrize(
    "filename, data",
    [
        ("Map.sceA", b"\x00\x02\x00\x01" + os.urandom(6000)),
        ("map.zip", b"PK\x03\x04" + os.urandom(6000)),
        ("Marathon.dmg", os.urandom(6000) + b"koly" + bytes(508)),
        ("Script.lua", b"-- Aleph One script\nTriggers = {}\n"),
        ("Map.mml", b"<!-- tweaks -->\n<marathon><interface/></marathon>\n"),
    ],
)
def test_a_version_file_whose_bytes_fit_its_name_becomes_ready_with_its_sha256(
    celery_worker, alice_api, filename, data
):
    upload = start_upload(alice_api, data, filename=filename)
    send_all_parts(alice_api, upload, data)
    assert (
        alice_api.post(f"/api/uploads/{upload['id']}/complete/", {}, format="json").status_code
        == 202
    )

    done = wait_for_state(upload["id"], FINAL)

    assert done.state == "ready", done.error
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert Upload.objects.get(pk=done.pk).result["worker"]["seconds"] >= 0


def test_every_stage_the_worker_reports_is_one_the_api_serves(alice, alice_api):
    served = set(alice_api.get("/api/uploads/purposes/").json()["stages"])
    seen = []

    def record(sender, upload, stage, **kwargs):
        seen.append(progress.read(upload.pk)["stage"])

    upload_stage_entered.connect(record, weak=False, dispatch_uid="test.record")
    try:
        upload = processing.upload_process(upload=completed_upload(alice, photo_with_orientation()))
    finally:
        upload_stage_entered.disconnect(dispatch_uid="test.record")

    assert seen == ["verifying", "processing"]
    assert progress.read(upload.pk)["stage"] == "ready"
    assert set(seen) | {"ready"} <= served


def test_while_verifying_the_api_says_when_the_upload_should_be_ready(alice, alice_api):
    from django.core.cache import caches
    from django.utils.dateparse import parse_datetime

    cache = caches["default"]
    cache.delete(progress.VERIFY_RATE_KEY)
    seen = {}

    def record(sender, upload, stage, **kwargs):
        if stage == "verifying":
            seen.update(alice_api.get(f"/api/uploads/{upload.pk}/progress/").json())
            seen["asked_at"] = timezone.now()

    def verify(size):
        seen.clear()
        upload_stage_entered.connect(record, weak=False, dispatch_uid="test.record")
        try:
            upload = completed_upload(
                alice, os.urandom(size), filename="big.bin", purpose="version_file"
            )
            upload = processing.upload_process(upload=upload)
        finally:
            upload_stage_entered.disconnect(dispatch_uid="test.record")
        assert upload.state == "ready", upload.error
        expected = seen["expected_ready_at"]
        return upload, expected and parse_datetime(expected) - seen["asked_at"]

    # Nothing measured yet: nothing expected (the uploader polls as it would without). A small
    # file measures round trips rather than reading, and teaches nothing.
    _, ahead = verify(3 * MiB)
    assert ahead is None
    assert cache.get(progress.VERIFY_RATE_KEY) is None
    # A large one teaches the worker its speed, which the next estimates use.
    verify(progress.LEARN_FROM_BYTES)
    assert cache.get(progress.VERIFY_RATE_KEY) > 0
    cache.set(progress.VERIFY_RATE_KEY, MiB, timeout=None)  # 1 MiB/s: 3 s for 3 MiB
    upload, ahead = verify(3 * MiB)
    assert 2.5 < ahead.total_seconds() <= 3
    # Once ready there is nothing left to expect.
    after = alice_api.get(f"/api/uploads/{upload.pk}/progress/").json()
    assert after["state"] == "ready" and after["expected_ready_at"] is None
    cache.delete(progress.VERIFY_RATE_KEY)
