"""The run that must not start: after the switch-over, into a used database, or with live ids
inside S7's own range."""

from items.importer import ledger, source
from items.importer.context import TARGET_TABLE, Run
from items.importer.models import SwitchOver


class ImportRefused(Exception):
    """A run that must not start; the message says why and what to do."""


def switched_over() -> SwitchOver | None:
    return SwitchOver.objects.order_by("-marked_at").first()


def refuse_if_unsafe(run: Run) -> None:
    run.live_highest = {}
    marked = switched_over()
    if marked and not run.options.after_switch_over:
        if run.options.dry_run:
            run.report.notes.append(f"S7 {marked}: a run would be refused.")
            return
        raise ImportRefused(
            f"S7 {marked} (a run marked --switch-over): S7 is the site of record, and what "
            "its members changed since would meet the live site's rows again. If the live "
            "site was reopened and its rows must come again, run with --after-switch-over: "
            "S7's changes are kept wherever the live site did not change the same column."
        )
    small = [TARGET_TABLE[t] for t in TARGET_TABLE]
    if ledger.never_imported():
        occupied = ledger.rows_in_live_range(small)
        if occupied:
            held = ", ".join(f"{table} {count:,}" for table, count in occupied.items())
            message = (
                f"S7 already holds rows the import did not write ({held}): live rows would "
                "take their ids. Import into an S7 database that nobody has used yet."
            )
            if not run.options.dry_run:
                raise ImportRefused(message)
            run.report.notes.append(message)
    run.live_highest = {}
    for table, name in TARGET_TABLE.items():
        highest = source.fetch(run.live, f"SELECT coalesce(max(id), 0) FROM {name}")[0][0]
        run.live_highest[table] = highest
        if highest >= ledger.S7_IDS_FROM:
            raise ImportRefused(
                f"The live site's {table} reached id {highest:,}, inside the range S7 keeps "
                f"for its own rows (from {ledger.S7_IDS_FROM:,}); raise S7_IDS_FROM first."
            )
