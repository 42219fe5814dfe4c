"""The file phase's end: the worker given time to verify the files left to it, their failures
reported, and the rows that waited for them written."""

import time

from tqdm import tqdm

from items.importer import files
from items.importer.context import Run
from items.importer.phases import screenshots, versions
from uploads.core.models import UploadState


def finish_files(run: Run):
    adopted = run.adopted
    still_open = [u.pk for u in adopted.values() if not u.is_final]
    began = time.monotonic()
    if still_open and run.options.wait > 0:
        with tqdm(
            total=len(still_open), desc="verifying", unit=" files", disable=run.options.quiet
        ) as bar:
            files.wait_for_worker(still_open, timeout=run.options.wait, progress=bar)
    uploads = {
        key: upload.__class__.objects.get(pk=upload.pk) if upload.pk in still_open else upload
        for key, upload in adopted.items()
    }
    run.report.files_pending = sum(1 for u in uploads.values() if not u.is_final)
    run.report.file_seconds += time.monotonic() - began
    for (kind, source_id), upload in sorted(uploads.items()):
        if upload.state == UploadState.FAILED:
            run.report.failures.append(f"{kind} {source_id}: {upload.filename} — {upload.error}")
    if "versions" in run.options.only and still_open:
        # Versions whose file ended refused after their rows were written keep their link.
        versions.write_versions(run, run.live_versions, uploads)
    if "screenshots" in run.options.only:
        screenshots.write_screenshots(run, uploads)
