"""`python manage.py upload_audit [--fix]`: the bucket against the database."""

from botocore.exceptions import BotoCoreError
from django.core.management.base import BaseCommand, CommandError

from uploads.reports.audit import delete_orphans, storage_audit
from uploads.storage.connection import S3Error


class Command(BaseCommand):
    help = (
        "List objects under uploads/ that no Upload owns and ready Uploads whose object is "
        "missing, with sizes; --fix deletes the orphan objects."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="delete the orphan objects")

    def handle(self, *args, fix, **options):
        try:
            audit = storage_audit()
        except (S3Error, BotoCoreError) as exc:
            raise CommandError(f"S3 cannot be listed, so nothing was audited: {exc}") from None
        for line in audit.lines():
            self.stdout.write(line)
        self.stdout.write(audit.summary())
        if fix and audit.orphans:
            self.stdout.write(f"Deleted {delete_orphans(audit)} orphan objects.")
        elif audit.orphans:
            self.stdout.write("Run with --fix to delete the orphan objects.")
