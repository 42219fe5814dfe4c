"""The live site's stored files (a version's archive, a screenshot's image) adopted as Uploads:
copied inside S3 into the engine's key layout and verified by the worker like any upload."""

from __future__ import annotations

import posixpath
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connections

from items.importer.models import ImportedFile
from items.models import User
from uploads.core.adopt import upload_adopt
from uploads.core.models import OPEN_STATES, Upload

NAMESPACE = uuid.UUID("5b1c0c8e-7d0e-4a1c-9a57-5e7e1c7d2007")
# Copies run inside S3; a few at a time keep it busy without many connections here.
COPY_THREADS = 6


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
    files: list[SourceFile], *, purpose: str, bucket: str, prefix: str, progress=None
) -> Adopted:
    """An Upload for each file, adopting (copying) only those no earlier run adopted."""
    known = known_uploads(files)
    result = Adopted(uploads={(f.kind, f.source_id): u for f, u in known.items()})
    missing = [f for f in files if f not in known]
    if progress is not None:
        progress.update(len(files) - len(missing))

    def one(source: SourceFile) -> tuple[SourceFile, Upload, bool]:
        try:
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
            return source, upload, fresh
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
        for source, upload, fresh in pool.map(one, missing):
            result.uploads[(source.kind, source.source_id)] = upload
            if fresh and upload.state != "failed":
                result.copied += 1
                result.bytes_copied += upload.size
            if progress is not None:
                progress.update(1)
    return result


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
