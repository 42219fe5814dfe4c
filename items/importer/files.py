"""The live site's stored files (a version's archive, a screenshot's image) adopted as Uploads:
copied inside S3 into the engine's key layout and verified by the worker like any upload."""

from __future__ import annotations

import logging
import posixpath
import queue
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connections
from psycopg_pool import PoolTimeout

from items.importer.models import ImportedFile
from items.models import User
from uploads.core import purposes
from uploads.core.adopt import upload_adopt
from uploads.core.models import OPEN_STATES, Upload, UploadState
from uploads.worker.processing import upload_process

logger = logging.getLogger("items.importer")

NAMESPACE = uuid.UUID("5b1c0c8e-7d0e-4a1c-9a57-5e7e1c7d2007")
# Files copied and verified at once. Each holds one database connection (from the process's
# pool, so at most its size less two: files_in_flight) and, while hashing, one ranged read
# (8 MiB); a small file is mostly round trips to S3 and the database, which overlap. Memory
# stays bounded whatever the files' sizes: FILES_IN_FLIGHT reads, and at most DECODING_SLOTS
# images decoded (each within UPLOADS_IMAGE_MEMORY_BUDGET).
FILES_IN_FLIGHT = 8
DECODING_SLOTS = threading.BoundedSemaphore(2)
POOL_ATTEMPTS = 5


def files_in_flight(wanted: int | None = None) -> int:
    """``wanted`` (or FILES_IN_FLIGHT) files at once, within the process's connection pool:
    each in flight holds a connection, the run holds one of its own, and one is left spare."""
    wanted = wanted or FILES_IN_FLIGHT
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    size = pool.get("max_size") if isinstance(pool, dict) else None
    return max(1, min(wanted, size - 2)) if size else wanted


@dataclass(frozen=True)
class SourceFile:
    kind: str  # ImportedFile.VERSION or ImportedFile.SCREENSHOT
    source_id: int
    name: str  # the live ``file`` column: the storage name without the prefix
    owner_id: int

    def upload_id(self, bucket: str) -> uuid.UUID:
        # Fixed by the source, so that a run killed after a copy finds its object again.
        return uuid.uuid5(NAMESPACE, f"{bucket}:{self.kind}:{self.source_id}:{self.name}")


@dataclass
class Adopted:
    uploads: dict[tuple[str, int], Upload]  # (kind, source id) → the Upload of its current file
    copied: int = 0
    bytes_copied: int = 0
    verified: int = 0  # verified by this process


def known_uploads(files: list[SourceFile]) -> dict[SourceFile, Upload]:
    wanted = {(f.kind, f.source_id, f.name): f for f in files}
    found = {}
    for record in ImportedFile.objects.select_related("upload").filter(
        source_id__in={f.source_id for f in files}
    ):
        source = wanted.get((record.kind, record.source_id, record.source_name))
        if source is not None:
            found[source] = record.upload
    return found


def adopt(
    files: list[SourceFile],
    *,
    purpose: str,
    bucket: str,
    prefix: str,
    progress=None,
    in_flight: int | None = None,
) -> Adopted:
    """An Upload for each file, adopting (copying) only those no earlier run adopted, and
    verifying each here as soon as it is copied (the engine's own verification, as the worker
    runs it), several files in flight at once, so that the live site's count of small files
    costs seconds: a file waits for no queue. The worker is handed each upload too and finds
    it ready, or verifies whatever this run could not."""
    known = known_uploads(files)
    result = Adopted(uploads={(f.kind, f.source_id): u for f, u in known.items()})
    todo = [f for f in files if f not in known or not known[f].is_final]
    if progress is not None:
        progress.update(len(files) - len(todo))
    decodes = bool(purposes.get(purpose).renditions)

    def one(source: SourceFile) -> tuple[SourceFile, Upload, bool, bool]:
        upload = known.get(source)
        fresh = False
        if upload is None:
            upload_id = source.upload_id(bucket)
            upload = Upload.objects.filter(pk=upload_id).first()
            fresh = upload is None
            if fresh:
                upload = upload_adopt(
                    owner=User(pk=source.owner_id),
                    purpose=purpose,
                    filename=posixpath.basename(source.name),
                    source_bucket=bucket,
                    source_key=f"{prefix}{source.name}",
                    upload_id=upload_id,
                )
            ImportedFile.objects.get_or_create(
                kind=source.kind,
                source_id=source.source_id,
                source_name=source.name,
                defaults={"upload": upload},
            )
        verified = False
        if upload.state in (UploadState.COMPLETING, UploadState.PROCESSING):
            upload = _verify_here(upload, decodes)
            verified = upload.is_final
        return source, upload, fresh, verified

    for source, upload, fresh, verified in _in_flight(one, todo, files_in_flight(in_flight)):
        result.uploads[(source.kind, source.source_id)] = upload
        if fresh and upload.state != UploadState.FAILED:
            result.copied += 1
            result.bytes_copied += upload.size
        result.verified += verified
        if progress is not None:
            progress.update(1)
    return result


def _in_flight(work, items: list, threads: int):
    """``work(item)`` for every item, ``threads`` at a time, results as they end. Each thread
    keeps one database connection for the whole phase (a connection per file would make
    Postgres start a process per file), closed when it has no more work."""
    waiting: queue.SimpleQueue = queue.SimpleQueue()
    for item in items:
        waiting.put(item)
    finished: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                try:
                    item = waiting.get_nowait()
                except queue.Empty:
                    return
                for attempt in range(POOL_ATTEMPTS):
                    try:
                        finished.put((True, work(item)))
                        break
                    except OperationalError as exc:
                        # The pool had no connection for this thread yet (the database slow
                        # to start new ones): the file is fine, ask again (the work is
                        # idempotent).
                        if not isinstance(exc.__cause__, PoolTimeout) or (
                            attempt == POOL_ATTEMPTS - 1
                        ):
                            finished.put((False, exc))
                            break
                        connections.close_all()
                    except BaseException as exc:  # handed to the caller, which raises it
                        finished.put((False, exc))
                        break
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run, daemon=True) for _ in range(min(threads, len(items)))]
    for thread in pool:
        thread.start()
    try:
        for _ in items:
            ok, value = finished.get()
            if not ok:
                raise value
            yield value
    finally:
        stop.set()
        for thread in pool:
            thread.join()


def _verify_here(upload: Upload, decodes: bool) -> Upload:
    """The engine's verification in this process; left to the worker if S3 or the network
    fails meanwhile (its task was enqueued with the copy)."""
    slot = DECODING_SLOTS if decodes else nullcontext()
    try:
        with slot:
            return upload_process(upload=upload)
    except Exception:
        logger.warning("could not verify %s here; the worker will", upload.pk, exc_info=True)
        return Upload.objects.get(pk=upload.pk)


def wait_for_worker(upload_ids, *, timeout: float, progress=None) -> int:
    """Wait until the worker has verified (or refused) every upload; returns those still open."""
    ids = list(upload_ids)
    deadline = time.monotonic() + timeout
    while True:
        still_open = Upload.objects.filter(pk__in=ids, state__in=OPEN_STATES).count()
        if progress is not None:
            progress.n = len(ids) - still_open
            progress.refresh()
        if not still_open or time.monotonic() >= deadline:
            return still_open
        time.sleep(0.5)
