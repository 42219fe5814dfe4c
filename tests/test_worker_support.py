"""Helpers for the worker's tests (issue 6): images made here, uploads handed to a worker, and
worker processes a test starts and kills itself."""

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import uuid
import zlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from PIL import Image

from tests.conftest import ROOT, send_all_parts
from uploads import progress, s3
from uploads.models import Upload, UploadState

RED, BLUE = (255, 0, 0), (0, 0, 255)


# --- Images ----------------------------------------------------------------------------------


def encode(image, format="JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def photo_with_orientation(size=(1600, 1200), orientation=6) -> bytes:
    """A JPEG stored landscape, red in its top-left quarter, whose EXIF says to turn it.

    With orientation 6 a viewer turns it 90° clockwise: the red quarter ends top-right.
    """
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1] // 2))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Marathon Camera Co."  # Make: metadata that must not reach the renditions
    return encode(image, "JPEG", quality=92, exif=exif.tobytes())


def camera_jpeg(size=(6000, 4000)) -> bytes:
    """A 24-megapixel JPEG with the texture of a photo (smooth noise), a few MB like a camera's."""
    noise = Image.effect_noise((size[0] // 8, size[1] // 8), 80).convert("RGB")
    return encode(noise.resize(size, Image.Resampling.BICUBIC), "JPEG", quality=90)


def png(size, color=BLUE) -> bytes:
    return encode(Image.new("RGB", size, color), "PNG")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side=100_000) -> bytes:
    """A valid-looking PNG header claiming side×side pixels (10 gigapixels) in a few bytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = encode(Image.effect_noise((800, 600), 60).convert("RGB"), "JPEG", quality=90)
    return data[: len(data) // 2]


def png_html_polyglot() -> bytes:
    """PNG's signature, then a page: passes a naive magic check, must not pass the decoder."""
    return b"\x89PNG\r\n\x1a\n" + b"<html><body><script>alert(document.cookie)</script></body></html>" * 20


# --- Uploads ---------------------------------------------------------------------------------


def upload_screenshot(api, data: bytes, filename="shot.jpg", content_type="image/jpeg") -> str:
    """Through the API, as a browser would: create, send the parts, complete."""
    response = api.post(
        "/api/uploads/",
        {"filename": filename, "size": len(data), "content_type": content_type, "purpose": "screenshot"},
        format="json",
    )
    assert response.status_code == 201, response.content
    upload = response.json()
    send_all_parts(api, upload, data)
    response = api.post(f"/api/uploads/{upload['id']}/complete/", {}, format="json")
    assert response.status_code in (200, 202), response.content
    return upload["id"]


def completed_upload(owner, data: bytes, *, filename="shot.jpg", purpose="screenshot", **fields) -> Upload:
    """A row in processing whose object S3 holds: what completion leaves for the worker.

    Made directly, so that no completion enqueues it to the session's queue: the test decides
    which worker gets it.
    """
    upload_id = uuid.uuid4()
    key = f"uploads/{purpose}/{upload_id}/{filename}"
    s3.put_object(key=key, body=data, content_type="application/octet-stream")
    now = timezone.now()
    values = dict(
        id=upload_id,
        owner=owner,
        purpose=purpose,
        filename=filename,
        key=key,
        size=len(data),
        content_type="image/jpeg",
        part_size=max(len(data), 5 * 1024 * 1024),
        part_count=1,
        s3_upload_id=f"test-{upload_id}",
        state=UploadState.PROCESSING,
        created_at=now - timedelta(seconds=5),
        completing_at=now - timedelta(seconds=1),
        processing_at=now,
        expires_at=now + timedelta(days=1),
    )
    values.update(fields)
    return Upload.objects.create(**values)


def wait_for_stage(upload_id, stage, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress.read(upload_id).get("stage") == stage:
            return
        time.sleep(0.05)
    raise AssertionError(f"upload {upload_id} never reached stage {stage!r}: {progress.read(upload_id)}")


def log_events(log_path: Path, event: str, upload_id) -> list[dict]:
    """The structured lines of ``event`` about ``upload_id`` in a worker's log."""
    found = []
    for line in Path(log_path).read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0 or f'"{event}"' not in line:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if record.get("event") == event and record.get("upload") == str(upload_id):
            found.append(record)
    return found


# --- Worker processes of a test's own ---------------------------------------------------------


class Worker:
    """A real `celery worker` process on its own queue, started and stopped by one test."""

    def __init__(self, log_path: Path, queue: str, **env):
        database = settings.DATABASES["default"]
        self.log_path = Path(log_path)
        self.queue = queue
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "s7.settings",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{connection.settings_dict['NAME']}"
            ),
            "AWS_S3_ENDPOINT_URL": settings.AWS_S3_ENDPOINT_URL,
            "AWS_STORAGE_BUCKET_NAME": settings.AWS_STORAGE_BUCKET_NAME,
            "CELERY_QUEUE": queue,
            **{name: str(value) for name, value in env.items()},
        }
        command = [
            sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
            "--queues", queue, "--concurrency", "1", "--hostname", f"{queue}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while b"ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal_all(self, sig) -> None:
        """To the whole process group, as Heroku signals every process of a dyno."""
        os.killpg(self.process.pid, sig)

    def wait(self, timeout=60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.signal_all(signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=20)
