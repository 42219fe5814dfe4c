"""`python manage.py upload_report [--days N] [--purpose P]`: how uploads are going."""

from django.core.management.base import BaseCommand, CommandError

from uploads.core import purposes
from uploads.reports.figures import upload_report


class Command(BaseCommand):
    help = "Print upload figures for the uploads started in the last N days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="the window, in days (default 7)")
        parser.add_argument("--purpose", help="only uploads of this purpose")

    def handle(self, *args, days, purpose, **options):
        if days <= 0:
            raise CommandError("--days must be at least 1.")
        if purpose:
            try:
                purposes.get(purpose)
            except purposes.PurposeError as exc:
                raise CommandError(str(exc)) from None
        report = upload_report(days=days, purpose=purpose)
        self.stdout.write(
            f"Uploads started {report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC"
            f" ({purpose or 'all purposes'})"
        )
        width = max(len(label) for label, _ in report.rows())
        for label, value in report.rows():
            self.stdout.write(f"  {label:<{width}}  {value}")
        self.stdout.write("Failure reasons:")
        if not report.failure_reasons:
            self.stdout.write("  (none)")
        for reason, count in report.failure_reasons:
            self.stdout.write(f"  {count:>6,}  {reason}")
