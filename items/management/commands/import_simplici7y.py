"""``python manage.py import_simplici7y --source postgres://…``: bring the live Simplici7y in.

Reads the live database and bucket only; safe to run again (a second run changes nothing) and
after a kill (it continues); each later run brings only what changed, and keeps what S7 changed
meanwhile. ``--switch-over`` marks the final delta; later runs are refused unless
``--after-switch-over``. See items/importer/.
"""

from django.core.management.base import BaseCommand, CommandError

from items.importer.context import Options
from items.importer.files import FILES_IN_FLIGHT
from items.importer.guard import ImportRefused
from items.importer.run import import_live_site
from items.importer.source import LIVE_TABLES


class Command(BaseCommand):
    help = "Import the live Simplici7y's database and files (read-only on both)."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="the live database, postgres://…")
        parser.add_argument("--source-bucket", default="simplici7y")
        parser.add_argument("--source-prefix", default="static/")
        parser.add_argument(
            "--source-endpoint",
            default="",
            help="the live bucket's S3 endpoint; it must be S7's own S3 (copies run inside it)",
        )
        parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
        parser.add_argument(
            "--switch-over",
            action="store_true",
            help="this run is the final delta (the live site in maintenance): S7 becomes the "
            "site of record, and later runs are refused",
        )
        parser.add_argument(
            "--after-switch-over",
            action="store_true",
            help="run although the switch-over is marked (the live site was reopened)",
        )
        parser.add_argument(
            "--only", default="", help=f"comma-separated tables among {', '.join(LIVE_TABLES)}"
        )
        parser.add_argument(
            "--files-in-flight",
            type=int,
            default=FILES_IN_FLIGHT,
            help="files copied and verified at once; each holds one of the database's "
            "connections while the files move (at most DATABASE_POOL_MAX - 2)",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=600,
            help="seconds to wait for the worker to verify copied files (0: do not wait)",
        )

    def handle(self, *args, **options):
        from django.conf import settings

        only = tuple(name.strip() for name in options["only"].split(",") if name.strip())
        unknown = set(only) - set(LIVE_TABLES)
        if unknown:
            raise CommandError(f"Unknown tables: {', '.join(sorted(unknown))}.")
        endpoint = options["source_endpoint"].rstrip("/")
        if endpoint and endpoint != (settings.AWS_S3_ENDPOINT_URL or "").rstrip("/"):
            raise CommandError(
                "The files are copied inside S3, so the source bucket must be on S7's own S3 "
                f"({settings.AWS_S3_ENDPOINT_URL or 'AWS'}); {endpoint} is another."
            )
        try:
            report = import_live_site(
                Options(
                    source_url=options["source"],
                    bucket=options["source_bucket"],
                    prefix=options["source_prefix"],
                    only=only or LIVE_TABLES,
                    dry_run=options["dry_run"],
                    wait=options["wait"],
                    quiet=options["verbosity"] < 1,
                    switch_over=options["switch_over"],
                    after_switch_over=options["after_switch_over"],
                    files_in_flight=max(1, options["files_in_flight"]),
                )
            )
        except ImportRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(report.text())
