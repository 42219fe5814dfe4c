"""The whole import in order, each step committed on its own so that a run killed anywhere
continues where it stopped, and its report."""

import time

from items import services
from items.importer import ledger, source, tables
from items.importer.context import TARGET_TABLE, Options, Run
from items.importer.guard import refuse_if_unsafe, switched_over
from items.importer.models import SwitchOver
from items.importer.phases import (
    counts,
    downloads,
    finish,
    items,
    reviews,
    screenshots,
    tags,
    users,
    versions,
)
from items.importer.report import Report

# The phases of the live tables, in the order their rows refer to each other.
TABLE_PHASES = [
    ("users", users.users),
    ("tags", tags.tags),
    ("items", items.items),
    ("versions", versions.versions),
    ("reviews", reviews.reviews),
    ("screenshots", screenshots.screenshots),
    ("downloads", downloads.copy_new_downloads),
]

# What a run that writes does after them, whichever tables it took.
WRITING_PHASES = [
    ("texts", lambda run: services.render_missing_html()),
    ("files", finish.finish_files),
    ("counts", counts.recount),
    ("sequences", lambda run: ledger.reserve_ids_for_s7(TARGET_TABLE.values())),
]


def import_live_site(options: Options) -> Report:
    run = Run(options)
    with source.connect(options.source_url) as live:
        run.live = live
        refuse_if_unsafe(run)
        if not options.dry_run:
            ledger.reserve_ids_for_s7(TARGET_TABLE.values())
        phases = TABLE_PHASES + ([] if options.dry_run else WRITING_PHASES)
        for name, phase in phases:
            if name in options.only or name not in TARGET_TABLE:
                began = time.monotonic()
                phase(run)
                run.report.step_seconds[name] = time.monotonic() - began
        for table in TARGET_TABLE:
            run.report.rows[table] = (
                source.count(live, table),
                tables.target_count(TARGET_TABLE[table]),
            )
        run.report.checked = run.checks.lines
        if options.switch_over and not options.dry_run:
            SwitchOver.objects.create(live_downloads_up_to=run.live_highest["downloads"])
            run.report.notes.append(
                f"S7 {switched_over()}: later runs are refused unless --after-switch-over."
            )
    run.report.seconds = time.monotonic() - run.started
    return run.report
