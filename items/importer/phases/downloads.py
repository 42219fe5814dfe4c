"""The downloads phase: the live download rows past the last one copied."""

from items.importer import downloads, source
from items.importer.context import Run


def copy_new_downloads(run: Run):
    after = downloads.last_imported_id()
    rows, _ = downloads.pending(run.live, after)
    if run.options.dry_run:
        run.report.notes.append(f"{rows:,} download rows past id {after:,} would be copied.")
        return
    live_versions = {row[0] for row in source.fetch(run.live, "SELECT id FROM items_version")}
    live_users = {row[0] for row in source.fetch(run.live, "SELECT id FROM items_user")}
    missing_versions = sorted(live_versions - run.present("items_version"))
    missing_users = sorted(live_users - run.present("items_user"))
    with run.bar("downloads", rows) as bar:
        copied = downloads.copy_downloads(
            run.live,
            progress=bar,
            after_batch=run.options.after_download_batch,
            leave_out_versions=missing_versions,
            anonymous_users=missing_users,
            latest=run.checks.now,
        )
    run.report.written["downloads"] = copied.rows
    if copied.left_out:
        run.report.left_out.append(
            f"{copied.left_out:,} download rows of versions not on S7"
            f" ({', '.join(map(str, missing_versions[:20]))})"
        )
    if copied.dates_fixed:
        run.checks.note(
            f"{copied.dates_fixed:,} download rows dated before {downloads.EARLIEST:%Y-%m-%d}"
            " or after the run's start; the nearest of the two kept"
        )
