import time

from botocore.exceptions import EndpointConnectionError
from django.core.management.base import BaseCommand, CommandError

from uploads.conf import settings
from uploads.storage import bucket_setup
from uploads.storage.connection import S3Error, bucket_name


class Command(BaseCommand):
    help = "Create the bucket with its CORS and lifecycle rules (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--abort-after-days",
            type=int,
            default=max(1, -(-settings.UPLOADS_EXPIRE_AFTER // 86400) + 1),
            help="AbortIncompleteMultipartUpload after this many days (a backstop for the sweep).",
        )

        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            help="Seconds to keep retrying while S3 is still starting (local S3).",
        )

    def handle(self, *args, abort_after_days, wait, **options):
        origins = settings.UPLOADS_CORS_ORIGINS
        if not origins:
            raise CommandError("No CORS origin: set SITE_URL or UPLOADS_CORS_ORIGINS.")
        deadline = time.monotonic() + wait
        while True:
            try:
                return self.set_up(origins, abort_after_days)
            except (CommandError, EndpointConnectionError):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def set_up(self, origins, abort_after_days):
        try:
            if not bucket_setup.bucket_exists():
                bucket_setup.create_bucket()
                self.stdout.write(f"created bucket {bucket_name()}")
            bucket_setup.put_cors(origins)
            bucket_setup.put_abort_lifecycle(abort_after_days)
        except S3Error as exc:
            raise CommandError(f"S3 refused the set-up: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"bucket {bucket_name()} ready: CORS for {', '.join(origins)}; "
                f"incomplete multipart uploads aborted after {abort_after_days} days"
            )
        )
