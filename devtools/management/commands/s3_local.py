import os
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.seaweedfs import LOCAL_S3_PORT, LocalS3


class Command(BaseCommand):
    help = "Run the local S3 (SeaweedFS) in the foreground, as configured by AWS_S3_ENDPOINT_URL."

    def handle(self, *args, **options):
        endpoint = urlparse(settings.AWS_S3_ENDPOINT_URL)
        if endpoint.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError("s3_local serves only a loopback AWS_S3_ENDPOINT_URL.")
        server = LocalS3(
            data_dir=Path(settings.VAR_DIR) / "s3",
            access_key=settings.AWS_ACCESS_KEY_ID,
            secret_key=settings.AWS_SECRET_ACCESS_KEY,
            s3_port=endpoint.port or 80,
            # On S3's usual port its other components keep theirs; a run on another port (a
            # second checkout, a test) takes free ones, so the two never collide.
            spread_ports=endpoint.port != LOCAL_S3_PORT,
            allowed_origins=",".join(settings.UPLOADS_CORS_ORIGINS),
        )
        command = server.command()
        self.stdout.write(f"SeaweedFS S3 on {server.endpoint_url}, data in {server.data_dir}")
        os.execv(command[0], command)
