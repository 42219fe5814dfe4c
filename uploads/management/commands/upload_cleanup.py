"""`python manage.py upload_cleanup [--dry-run]`: every sweep the worker runs periodically."""

from botocore.exceptions import BotoCoreError
from django.core.management.base import BaseCommand, CommandError

from uploads.storage.connection import S3Error
from uploads.worker.sweeps import cleanup_apply, cleanup_plan


class Command(BaseCommand):
    help = (
        "Expire stale uploads, resolve uploads stuck completing or processing, abort orphan "
        "multipart uploads and those of closed uploads, delete objects of failed uploads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="show what would be done")

    def handle(self, *args, dry_run, **options):
        try:
            plan = cleanup_plan()
        except (S3Error, BotoCoreError) as exc:
            raise CommandError(f"S3 cannot be listed, so nothing was done: {exc}") from None
        for line in plan.lines():
            self.stdout.write(("would " if dry_run else "") + line)
        if plan.is_empty:
            self.stdout.write("Nothing to clean up.")
            return
        if dry_run:
            return
        done = cleanup_apply(plan)
        self.stdout.write(
            ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in done.items())
        )
