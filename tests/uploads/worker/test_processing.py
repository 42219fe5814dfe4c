"""The worker verifies and processes what users upload: real Redis, Celery worker, SeaweedFS."""

import hashlib
import io
import os
import re

import pytest
from django.utils import timezone
from PIL import Image

from tests.fixtures.uploading import (
    b64_sha256,
    complete,
    part_bytes,
    put_part,
    send_all_parts,
    send_and_complete,
    sign,
    start_upload,
    wait_for_sha256,
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
from uploads.storage import multipart, objects
from uploads.storage.connection import bucket_name, s3_client
from uploads.worker import checksum, completion, processing

pytestmark = pytest.mark.django_db(transaction=True)

FINAL = {"ready", "failed"}
NO_WORKER = "tests-no-worker"  # a queue no worker takes tasks from
MiB = 1024 * 1024


def stored(key) -> bytes:
    return s3_client().get_object(Bucket=bucket_name(), Key=key)["Body"].read()


def close_to(pixel, color, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


def test_a_screenshot_becomes_two_exif_rotated_renditions_without_metadata(
    celery_worker, alice_api
):
    data = photo_with_orientation((1600, 1200), orientation=6)
    upload_id = upload_screenshot(alice_api, data, filename="Rubicon 1.jpg")

    upload = wait_for_state(upload_id, FINAL)

    assert upload.state == "ready", upload.error
    assert wait_for_sha256(upload.pk).sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(stored(upload.key)).hexdigest() == hashlib.sha256(data).hexdigest()
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
    upload = send_and_complete(alice_api, data, filename=filename)

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
def test_a_version_file_whose_bytes_fit_its_name_becomes_ready_then_gets_its_sha256(
    celery_worker, alice_api, filename, data
):
    upload = send_and_complete(alice_api, data, filename=filename)

    done = wait_for_state(upload["id"], FINAL)

    assert done.state == "ready", done.error
    # The task's own time: S3 calls take milliseconds, and the test waits far less than a minute.
    assert 0 < Upload.objects.get(pk=done.pk).result["worker"]["seconds"] < 60
    assert wait_for_sha256(done.pk).sha256 == hashlib.sha256(data).hexdigest()


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


def test_an_upload_is_ready_before_the_worker_reads_it_back_for_its_sha256(
    alice, alice_api, monkeypatch
):
    data = b"PK\x03\x04" + os.urandom(3 * MiB)
    upload = completed_upload(alice, data, filename="big.zip", purpose="version_file")
    read_back = []
    original = objects.sha256_of_object

    def counting(key, size, **kwargs):
        read_back.append(key)
        return original(key, size, **kwargs)

    monkeypatch.setattr(objects, "sha256_of_object", counting)
    # The hand-off to the broker is recorded instead of sent: a worker of this run that another
    # test started would otherwise compute the SHA-256 before this test looks at "pending".
    enqueued = []
    monkeypatch.setattr(processing, "enqueue_sha256", lambda upload: enqueued.append(upload.pk))

    upload = processing.upload_process(upload=upload)
    assert upload.state == "ready", upload.error
    assert read_back == []  # ready without reading the object back
    assert enqueued == [upload.pk]
    shown = alice_api.get(f"/api/uploads/{upload.pk}/").json()
    assert (shown["state"], shown["sha256"], shown["sha256_pending"]) == ("ready", "", True)

    # The task of its own, which the ready upload enqueued, reads it back once, however often
    # it is delivered.
    assert checksum.upload_compute_sha256(upload=Upload.objects.get(pk=upload.pk))
    assert checksum.upload_compute_sha256(upload=Upload.objects.get(pk=upload.pk))

    assert read_back == [upload.key]
    shown = alice_api.get(f"/api/uploads/{upload.pk}/").json()
    assert shown["sha256"] == hashlib.sha256(data).hexdigest()
    assert shown["sha256_pending"] is False


def test_a_ready_upload_enqueues_the_task_that_computes_its_sha256(alice, published_sha256_tasks):
    upload = completed_upload(
        alice, b"PK\x03\x04" + bytes(100), filename="m.zip", purpose="version_file"
    )

    processing.upload_process(upload=upload)

    assert published_sha256_tasks == [str(upload.pk)]


def test_a_failed_upload_has_no_sha256_computed_or_pending(
    alice, alice_api, published_sha256_tasks
):
    upload = completed_upload(
        alice, b"<html>" + bytes(100), filename="m.zip", purpose="version_file"
    )

    upload = processing.upload_process(upload=upload)

    assert upload.state == "failed"
    assert published_sha256_tasks == []
    assert checksum.upload_compute_sha256(upload=upload) == ""
    assert alice_api.get(f"/api/uploads/{upload.pk}/").json()["sha256_pending"] is False


def test_completion_checks_the_checksum_s3_computed_from_the_signed_parts(celery_worker, alice_api):
    data = b"PK\x03\x04" + os.urandom(11 * MiB)
    upload = send_and_complete(alice_api, data, filename="two-parts.zip")

    done = wait_for_state(upload["id"], FINAL)

    assert done.state == "ready", done.error
    signed = [part.checksum_sha256 for part in done.parts.order_by("part_number")]
    assert len(signed) == 2
    head = objects.head_object(done.key, checksums=True)
    assert head["ChecksumSHA256"] == completion.composite_sha256(signed)


def test_an_object_whose_s3_checksum_is_not_that_of_the_signed_parts_fails(alice_api, monkeypatch):
    # SeaweedFS, like AWS, refuses to complete with a part checksum that differs from the part
    # it holds, so a real S3 here cannot answer another object's checksum: HeadObject's answer
    # is altered to be what an S3 that skips that check could hold.
    data = b"PK\x03\x04" + os.urandom(6 * MiB)
    upload = start_upload(alice_api, data, filename="map.zip")
    send_all_parts(alice_api, upload, data)
    Upload.objects.filter(pk=upload["id"]).update(state="completing", completing_at=timezone.now())
    real_head = objects.head_object

    def head_of_another_object(key, **kwargs):
        head = real_head(key, **kwargs)
        if head and kwargs.get("checksums"):
            head["ChecksumSHA256"] = completion.composite_sha256([b64_sha256(b"other")] * 2)
        return head

    monkeypatch.setattr(objects, "head_object", head_of_another_object)

    done = processing.upload_process(upload=Upload.objects.get(pk=upload["id"]))

    assert done.state == "failed"
    assert "checksum is not that of the parts signed" in done.error
    monkeypatch.setattr(objects, "head_object", real_head)
    wait_until_deleted(done.key)


def test_the_worker_completes_with_the_listing_the_complete_request_checked(
    alice_api, monkeypatch, settings
):
    settings.CELERY_TASK_DEFAULT_QUEUE = NO_WORKER  # this test is the worker
    data = b"PK\x03\x04" + os.urandom(9 * MiB)
    upload = start_upload(alice_api, data, filename="map.zip")
    send_all_parts(alice_api, upload, data)
    listings = []
    real = multipart.list_parts
    monkeypatch.setattr(multipart, "list_parts", lambda **kw: listings.append(kw) or real(**kw))

    assert complete(alice_api, upload).status_code == 202
    done = processing.upload_process(upload=Upload.objects.get(pk=upload["id"]))

    assert done.state == "ready", done.error
    assert len(listings) == 1  # the request's: the worker did not ask S3 again


def test_a_part_replaced_after_the_complete_request_checked_it_never_ends_in_the_object(
    alice_api, settings
):
    settings.CELERY_TASK_DEFAULT_QUEUE = NO_WORKER  # this test is the worker
    data = b"PK\x03\x04" + os.urandom(9 * MiB)
    other = b"PK\x03\x04" + os.urandom(9 * MiB)
    upload = start_upload(alice_api, data, filename="map.zip")
    first_url = sign(alice_api, upload, other, [1])[1]  # signed, then replaced by the next
    send_all_parts(alice_api, upload, data)
    assert complete(alice_api, upload).status_code == 202
    # The earlier URL is still valid for the other content: S3 takes it after the check.
    assert put_part(first_url, part_bytes(upload, other, 1)).status_code == 200

    done = processing.upload_process(upload=Upload.objects.get(pk=upload["id"]))

    # S3 refuses to assemble a part whose ETag or SHA-256 is not the one listed, or (SeaweedFS
    # keeps every copy of a part) assembles the copy listed: never the other content.
    if done.state == "ready":
        assert hashlib.sha256(stored(done.key)).hexdigest() == hashlib.sha256(data).hexdigest()
    else:
        assert done.state == "failed" and "S3 refused" in done.error, done.error
