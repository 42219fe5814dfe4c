"""Versions' and screenshots' files adopted as Uploads (copied inside S3), for the phases that
name them."""

import time

from tqdm import tqdm

from items.importer import files
from items.importer.context import Run
from items.importer.files import SourceFile


def adopt(run: Run, wanted: list[SourceFile], *, purpose: str, table: str):
    if run.options.dry_run:
        known = files.known_uploads(wanted)
        run.report.notes.append(
            f"{table}: {len(wanted) - len(known):,} files would be copied "
            f"({len(known):,} already imported)."
        )
        return {}
    began, cpu = time.monotonic(), time.process_time()
    with tqdm(
        total=len(wanted), desc=f"{table} files", unit=" files", disable=run.options.quiet
    ) as bar:
        adopted = files.adopt(
            wanted, purpose=purpose, bucket=run.options.bucket, prefix=run.options.prefix,
            progress=bar, in_flight=run.options.files_in_flight,
        )  # fmt: skip
    run.report.files_copied += adopted.copied
    run.report.bytes_copied += adopted.bytes_copied
    run.report.files_verified_here += adopted.verified
    run.report.file_seconds += time.monotonic() - began
    run.report.file_cpu_seconds += time.process_time() - cpu
    run.adopted = {**run.adopted, **adopted.uploads}
    return adopted.uploads
