"""Each image is decoded in a child process under an address-space limit: the backstop for
whatever the memory budget's estimate misses."""

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.fixtures.uploading import wait_for_state
from tests.fixtures.worker import (
    RENDITIONS,
    completed_upload,
    encode,
    photo_with_orientation,
    png,
)
from uploads.worker.image_child import make_renditions_in_child
from uploads.worker.image_limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from uploads.worker.images import make_renditions
from uploads.worker.tasks import process_upload

MiB = 1024 * 1024
# The estimate switched off, so that only the address-space limit stands in the way.
NO_BUDGET = ImageLimits(memory_budget=2**40)


def progressive_cmyk(side=2_000) -> bytes:
    """Its decode holds 31 MiB of coefficients and 15 MiB of pixels."""
    picture = Image.new("CMYK", (side, side), (10, 200, 30, 0))
    draw = ImageDraw.Draw(picture)
    for offset in range(0, side, 97):
        draw.line((0, offset, side, side - offset), fill=(200, 10, 90, 40), width=3)
    return encode(picture, "JPEG", quality=80, progressive=True)


def test_the_child_makes_the_same_renditions_as_a_decode_in_this_process():
    data = photo_with_orientation((1600, 1200), orientation=6)

    here = make_renditions(data, RENDITIONS)
    there = make_renditions_in_child(data, RENDITIONS, DEFAULT_LIMITS, address_space=256 * MiB)

    assert there == here


def test_a_refusal_in_the_child_keeps_its_sentence_and_code():
    with pytest.raises(ImageRejected) as caught:
        make_renditions_in_child(b"GIF89a" + b"\0" * 40, RENDITIONS, DEFAULT_LIMITS,
                                 address_space=256 * MiB)  # fmt: skip

    assert (caught.value.code, str(caught.value)) == (
        "damaged",
        "The image file is damaged or incomplete.",
    )


def test_a_decoder_that_outgrows_the_address_space_fails_with_a_sentence():
    # libjpeg runs out inside its coefficient buffers, and tells Pillow only that the stream
    # is broken: the child knows better, and the image is not called damaged.
    with pytest.raises(ImageRejected) as caught:
        make_renditions_in_child(progressive_cmyk(), RENDITIONS, NO_BUDGET, address_space=60 * MiB)

    assert caught.value.code == "too_large"
    assert str(caught.value) == (
        "This image needs more memory to process than the worker allows for one image (60 MB)."
    )


def test_the_same_image_is_processed_under_a_limit_it_fits():
    result = make_renditions_in_child(
        progressive_cmyk(), RENDITIONS, NO_BUDGET, address_space=160 * MiB
    )

    assert (result.width, result.height) == (2_000, 2_000)
    assert Image.open(io.BytesIO(result.rendition("content").data)).size == (920, 920)


def test_pillows_own_allocations_past_the_limit_fail_with_the_same_sentence():
    # A PNG decoded whole: 61 MiB of pixels that Pillow itself fails to allocate.
    data = encode(Image.new("RGBA", (4_000, 4_000), (1, 2, 3, 4)), "PNG")

    with pytest.raises(ImageRejected) as caught:
        make_renditions_in_child(data, RENDITIONS, NO_BUDGET, address_space=60 * MiB)

    assert caught.value.code == "too_large"
    assert "needs more memory to process than the worker allows" in str(caught.value)


def test_a_child_that_dies_fails_the_image_with_a_sentence():
    # A crash in a C decoder, or the kernel's OOM killer: the decoder ends without an answer.
    # The kill is a real SIGKILL, sent to the decoder while it works on a large image.
    outcome = {}
    data = png((4_800, 4_800))  # just within the 24 MP decoded whole: long enough to be caught

    def decode():
        try:
            make_renditions_in_child(data, RENDITIONS, NO_BUDGET, address_space=0)
        except ImageRejected as rejected:
            outcome["rejected"] = rejected

    decoding = threading.Thread(target=decode)
    decoding.start()
    os.kill(_wait_for_a_decoder(), signal.SIGKILL)
    decoding.join(timeout=30)

    assert str(outcome["rejected"]) == (
        "This image could not be processed: its decoder stopped without an answer."
    )


def test_the_next_image_after_a_lost_decoder_is_processed():
    # The fork parent whose decoder died goes on serving; one that died itself is replaced.
    data = photo_with_orientation((64, 48))
    first = make_renditions_in_child(data, RENDITIONS, DEFAULT_LIMITS, address_space=0)
    for parent in _children_of(os.getpid(), "uploads.worker.image_child"):
        os.kill(parent, signal.SIGKILL)

    again = make_renditions_in_child(data, RENDITIONS, DEFAULT_LIMITS, address_space=0)

    assert again == first


@pytest.mark.parametrize("answer", [b"\x00\x00\x01", b"\x00" * 8, b"\x00" * 7 + b"\x05{}"])
def test_an_answer_that_does_not_parse_fails_the_image_with_a_sentence(monkeypatch, answer):
    # A real decoder always frames its answer; one that an image took over might not. The
    # exchange is replaced here because no real decoder can be made to write these bytes.
    monkeypatch.setattr("uploads.worker.image_child._exchange", lambda *_: (0, answer))

    with pytest.raises(ImageRejected) as caught:
        make_renditions_in_child(b"\xff\xd8\xff", RENDITIONS, DEFAULT_LIMITS, address_space=0)

    assert caught.value.code == "damaged"
    assert "its decoder stopped without an answer" in str(caught.value)


def _children_of(pid: int, marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and marker in command:
            found.append(int(entry.name))
    return found


def _wait_for_a_decoder(timeout=30.0) -> int:
    """A decoder: a child of one of this process's fork parents."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for parent in _children_of(os.getpid(), "uploads.worker.image_child"):
            decoders = _children_of(parent, "uploads.worker.image_child")
            if decoders:
                return decoders[0]
        time.sleep(0.005)
    raise AssertionError("no decoder started")


@pytest.mark.django_db(transaction=True)
def test_the_worker_fails_an_upload_whose_decoder_outgrows_its_address_space(workers, alice):
    worker = workers(
        "capped", UPLOADS_IMAGE_MEMORY_BUDGET=2**40, UPLOADS_IMAGE_ADDRESS_SPACE=60 * MiB
    )
    upload = completed_upload(alice, progressive_cmyk(), filename="poster.jpg")

    process_upload.apply_async(args=[str(upload.pk)], queue=workers.queue)
    upload = wait_for_state(upload.pk, {"ready", "failed"}, timeout=60)

    assert upload.state == "failed"
    assert upload.error == (
        "This image needs more memory to process than the worker allows for one image (60 MB)."
    )
    assert worker.process.poll() is None
    assert "MemoryError" not in worker.log and "WorkerLostError" not in worker.log


@pytest.mark.django_db(transaction=True)
def test_the_worker_refuses_a_progressive_jpeg_its_budget_cannot_hold(workers, alice):
    workers("budget", UPLOADS_IMAGE_MEMORY_BUDGET=30 * MiB)
    upload = completed_upload(alice, progressive_cmyk(), filename="poster.jpg")

    process_upload.apply_async(args=[str(upload.pk)], queue=workers.queue)
    upload = wait_for_state(upload.pk, {"ready", "failed"}, timeout=60)

    assert upload.state == "failed"
    assert upload.error.startswith("This image is too large to process (as a progressive JPEG")


def test_nothing_of_the_decoding_stays_in_the_worker_process():
    # Decoded here, this image would take 46 MiB.
    data = progressive_cmyk()
    before = _rss()
    make_renditions_in_child(data, RENDITIONS, DEFAULT_LIMITS, address_space=256 * MiB)

    assert _rss() - before < 16 * MiB


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
