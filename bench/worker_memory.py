"""Benchmark 9: the worker dyno's memory, every process of it together, under the heaviest work
it is given: large files verified (SHA-256 streamed) on every main child at once while the
image worker meets a hostile PNG (9,400×9,400 RGBA, 353 MB decoded), a hostile progressive CMYK
JPEG (9,480×9,480: a small decode at reduced scale, but libjpeg holds every coefficient of the
whole image first, 686 MiB), the largest PNG it still accepts and a camera JPEG.

Three configurations run the same work in the same run: the baseline is the worker before the
image queue (one `celery worker --beat`, two children for everything, images capped at 90
megapixels whatever their format, no memory budget, no address-space limit, children recycled
past 300 MB); S7's is ``bin/worker`` as the Procfile runs it; the third is S7's with the memory
budget switched off, so that the image decoder's address-space limit alone stands in the way. A sampler reads /proc every 20 ms and sums the whole process tree: resident
memory (RSS, which counts pages the children share with their parent once per process: an upper
bound) and proportional memory (PSS, shared pages split between their users: what the dyno
really holds).
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path

from bench.common import MiB, bench_user, process_tree, ratio, table
from bench.services import ROOT, Process

DYNO_MEMORY = 512 * MiB
CHUNK = 8 * MiB


# --- Inputs ------------------------------------------------------------------------------------


def png_of_zeros(path: Path, width: int, height: int) -> Path:
    """An RGBA PNG of width×height transparent pixels, written row by row: a few hundred kB on
    disk whatever it costs decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 4)  # filter byte, then RGBA
    body = bytearray()
    for _ in range(height):
        body += compressor.compress(row)
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(body))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def progressive_cmyk_jpeg(path: Path, side: int) -> Path:
    """A progressive CMYK JPEG of side×side, mostly flat: a few MB on disk whatever its cost to
    decode. (Making it takes Pillow's encoder about 1 GB for a side of 9,480.)"""
    from PIL import Image, ImageDraw

    picture = Image.new("CMYK", (side, side), (10, 200, 30, 0))
    draw = ImageDraw.Draw(picture)
    for offset in range(0, side, max(1, side // 4)):
        draw.line((0, offset, side, side - offset), fill=(200, 10, 90, 40), width=3)
    picture.save(path, "JPEG", quality=85, progressive=True)
    return path


def zip_of_random(path: Path, size: int) -> Path:
    """A ZIP (stored, not deflated) of ``size`` random bytes: passes the version file's sniffing,
    so its verification streams every byte."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive,
        archive.open("map.sceA", "w", force_zip64=True) as member,
    ):
        for start in range(0, size, CHUNK):
            member.write(os.urandom(min(CHUNK, size - start)))
    return path


def stored_upload(owner, path: Path, purpose: str):
    """A row in processing whose object S3 holds: what completion leaves for the worker."""
    from django.utils import timezone

    from uploads.core.models import Upload, UploadState
    from uploads.storage.connection import bucket_name, s3_client

    upload_id = uuid.uuid4()
    key = f"uploads/{purpose}/{upload_id}/{path.name}"
    s3_client().upload_file(str(path), bucket_name(), key)
    size = path.stat().st_size
    now = timezone.now()
    return Upload.objects.create(
        id=upload_id, owner=owner, purpose=purpose, filename=path.name, key=key, size=size,
        content_type="application/octet-stream", part_size=max(size, 5 * MiB), part_count=1,
        s3_upload_id=f"bench-{upload_id}", state=UploadState.PROCESSING, created_at=now,
        completing_at=now, processing_at=now, expires_at=now + timedelta(days=1),
    )  # fmt: skip


# --- Measuring ------------------------------------------------------------------------------------


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes; zeros for a process that just ended."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def _name(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    text = " ".join(word.decode(errors="replace") for word in words if word)
    return text.replace(os.sys.executable, "python")[:60]


class TreeSampler(threading.Thread):
    """The peak of the summed RSS and PSS of a process and all its descendants."""

    def __init__(self, root: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_rss = self.peak_pss = self.largest = self.processes = 0
        self.at_peak: list[tuple[str, int, int]] = []  # (process, RSS, PSS) when PSS peaked
        self.running = True

    def run(self):
        while self.running:
            pids = process_tree(self.root)
            figures = [_memory(pid) for pid in pids]
            rss, pss = sum(f[0] for f in figures), sum(f[1] for f in figures)
            if rss > self.peak_rss:
                self.peak_rss, self.processes = rss, len(figures)
            if pss > self.peak_pss:
                self.peak_pss = pss
                self.at_peak = [(_name(pid), *f) for pid, f in zip(pids, figures, strict=True)]
            self.largest = max([self.largest, *(f[0] for f in figures)])
            time.sleep(self.interval)

    def stop(self):
        self.running = False
        self.join()


# --- The two configurations -------------------------------------------------------------------


def _start(name: str, command: list[str], env: dict, log: Path) -> Process:
    process = Process(name, command, env, log)
    ready = 2 if "bin/worker" in command[0] else 1
    process.wait_for(lambda: log.read_bytes().count(b"ready.") >= ready, "not ready")
    return process


def _configurations(services, root: Path) -> list[tuple[str, list[str], dict]]:
    queue = f"{services.env['CELERY_QUEUE']}-dyno"
    common = {**services.env, "LOG_LEVEL": "WARNING", "REMAP_SIGTERM": "SIGQUIT",
              "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
    before = {
        **common,
        "CELERY_QUEUE": f"{queue}-before",
        "CELERY_IMAGE_QUEUE": f"{queue}-before",  # no queue of their own: images go with the rest
        "UPLOADS_IMAGE_MAX_PIXELS_DECODED_WHOLE": "90000000",
        "UPLOADS_IMAGE_MEMORY_BUDGET": str(2**40),
        "UPLOADS_IMAGE_ADDRESS_SPACE": "0",
        "CELERY_WORKER_MAX_MEMORY_PER_CHILD": "300000",
    }
    s7 = {**common, "CELERY_QUEUE": f"{queue}-s7", "CELERY_IMAGE_QUEUE": f"{queue}-s7-images"}
    backstop = {
        **common,
        "CELERY_QUEUE": f"{queue}-backstop",
        "CELERY_IMAGE_QUEUE": f"{queue}-backstop-images",
        "UPLOADS_IMAGE_MEMORY_BUDGET": str(2**40),
    }
    celery = [os.sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--beat",
              "--schedule", str(root / "before-schedule"), "--concurrency", "2",
              "--queues", before["CELERY_QUEUE"], "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
    return [
        ("before: one worker, 2 children for everything, 90 MP for every format (baseline)",
         celery, before),
        ("S7: bin/worker (main: 1 child + beat; images: 1 child, 24 MP / 96 MiB, each image "
         "decoded in a process of at most 256 MiB of address space)",
         [str(ROOT / "bin" / "worker"), "--schedule", str(root / "s7-schedule")], s7),
        ("S7 without the memory budget: the 256 MiB address-space limit alone",
         [str(ROOT / "bin" / "worker"), "--schedule", str(root / "backstop-schedule")], backstop),
    ]  # fmt: skip


def _run_one(name, command, env, owner, inputs, root) -> dict:
    from celery import current_app
    from django.conf import settings

    from uploads.core.dispatch import PROCESS_UPLOAD, processing_options
    from uploads.core.models import FINAL_STATES, Upload

    process = _start(name, command, env, root / f"{abs(hash(name))}.log")
    sampler = TreeSampler(process.pid)
    sampler.start()
    settings.CELERY_TASK_DEFAULT_QUEUE = env["CELERY_QUEUE"]
    settings.CELERY_IMAGE_QUEUE = env["CELERY_IMAGE_QUEUE"]
    started = time.monotonic()
    uploads = [stored_upload(owner, path, purpose) for path, purpose in inputs]
    for upload in uploads:
        current_app.send_task(PROCESS_UPLOAD, args=[str(upload.pk)], **processing_options(upload))
    ids = [upload.pk for upload in uploads]
    deadline = time.monotonic() + 900
    # Until every upload has ended and every ready one has its SHA-256 (read back after ready).
    while (
        Upload.objects.filter(pk__in=ids).exclude(state__in=FINAL_STATES).exists()
        or Upload.objects.filter(pk__in=ids, state="ready", sha256="").exists()
    ):
        if time.monotonic() > deadline or process.popen.poll() is not None:
            break
        time.sleep(0.2)
    seconds = time.monotonic() - started
    sampler.stop()
    process.stop()
    ends = {u.filename: (u.state, u.error) for u in Upload.objects.filter(pk__in=ids)}
    return {"sampler": sampler, "seconds": seconds, "ends": ends}


def run(services, sizes, workdir):
    import celery_worker  # noqa: F401  (configures the Celery app that sends the tasks)
    from bench.images import make_photo

    owner, _ = bench_user("dyno")
    big = sizes.file_mib * MiB
    # At full size the hostile images are what they are named for; a smoke run only needs the
    # same work, smaller, so that it proves the benchmark runs.
    full = sizes.image_megapixels >= 24
    jpeg_side = 9_480 if full else 1_200
    png_side = 9_400 if full else 2_400
    accepted = (6_000, 4_000) if full else (1_500, 1_000)
    inputs = [
        (zip_of_random(workdir / "first.zip", big), "version_file"),
        (zip_of_random(workdir / "second.zip", big), "version_file"),
        (png_of_zeros(workdir / "hostile.png", png_side, png_side), "screenshot"),
        (progressive_cmyk_jpeg(workdir / "hostile-progressive-cmyk.jpg", jpeg_side), "screenshot"),
        (png_of_zeros(workdir / "largest-accepted.png", *accepted), "screenshot"),
        (make_photo(workdir / "camera.jpg", sizes.image_megapixels), "screenshot"),
    ]
    results = [
        (name, _run_one(name, command, env, owner, inputs, workdir))
        for name, command, env in _configurations(services, workdir)
    ]
    baseline = results[0][1]["sampler"]
    rows = []
    for name, result in results:
        sampler = result["sampler"]
        rows.append([
            name, f"{sampler.peak_rss / MiB:.0f}", f"{sampler.peak_pss / MiB:.0f}",
            f"{sampler.largest / MiB:.0f}", str(sampler.processes), f"{result['seconds']:.1f}",
            ratio(sampler.peak_pss, baseline.peak_pss),
            "yes" if sampler.peak_pss < DYNO_MEMORY else "**no**",
        ])  # fmt: skip
    text = table(
        ["worker", "peak total RSS (MiB)", "peak total PSS (MiB)", "largest process (MiB)",
         "processes", "time (s)", "PSS vs baseline", "under 512 MB"],
        rows,
    )  # fmt: skip
    for name, result in results:
        ends = ", ".join(
            f"{filename}: {state}" + (f" ({error})" if error else "")
            for filename, (state, error) in sorted(result["ends"].items())
        )
        text += (
            f"\n\n{name.split(':')[0]} — {ends}. At the peak: "
            + "; ".join(
                f"{process} {rss / MiB:.0f}/{pss / MiB:.0f}"
                for process, rss, pss in result["sampler"].at_peak
            )
            + " (RSS/PSS MiB)"
        )
    text += (
        f"\n\nWork: two {sizes.file_mib} MiB ZIPs to verify, the hostile {png_side:,}×{png_side:,} RGBA "
        f"PNG, the hostile {jpeg_side:,}×{jpeg_side:,} progressive CMYK JPEG "
        f"({(workdir / 'hostile-progressive-cmyk.jpg').stat().st_size / 1e6:.1f} MB), a {accepted[0]:,}×{accepted[1]:,} RGBA PNG "
        f"({'the largest the image worker accepts: 24 megapixels, 92 MiB decoded' if full else 'smaller than the largest accepted, for the smoke run'}) "
        f"and a {sizes.image_megapixels} MP camera JPEG, all enqueued together "
        "(the main worker verifies the ZIPs one at a time, the baseline two at once). Totals are summed "
        "over every process of the worker (parents, children, beat, the script), sampled "
        "every 20 ms."
    )
    s7 = results[1][1]["sampler"]
    return text, {"dyno_peak_pss": s7.peak_pss, "dyno_peak_rss": s7.peak_rss}
