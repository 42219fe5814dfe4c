import base64
import hashlib
import uuid

import requests
from django.core.management.base import BaseCommand, CommandError

from uploads.conf import settings
from uploads.storage import bucket_setup, multipart, objects, presign
from uploads.storage.connection import S3Error, bucket_name


class Command(BaseCommand):
    help = "Check the live bucket: exists, CORS, lifecycle, and a presigned multipart round trip."

    def handle(self, *args, **options):
        problems = []
        try:
            problems = list(self.diagnose())
        except S3Error as exc:
            problems = [f"S3 answered {exc}. Check AWS_* settings and that S3 is reachable."]
        except requests.RequestException as exc:
            problems = [f"S3 could not be reached ({exc}). Is AWS_S3_ENDPOINT_URL right?"]
        if problems:
            for problem in problems:
                self.stdout.write(self.style.ERROR(f"✗ {problem}"))
            raise CommandError(f"{len(problems)} problem(s) with bucket {bucket_name()}")
        self.stdout.write(self.style.SUCCESS(f"✓ bucket {bucket_name()} is ready for uploads"))

    def diagnose(self):
        if not bucket_setup.bucket_exists():
            yield f"Bucket {bucket_name()} does not exist. Fix: python manage.py s3_setup"
            return
        yield from self.check_cors()
        if not any(
            "AbortIncompleteMultipartUpload" in rule for rule in bucket_setup.get_lifecycle_rules()
        ):
            yield "No AbortIncompleteMultipartUpload lifecycle rule. Fix: python manage.py s3_setup"
        yield from self.round_trip()

    def check_cors(self):
        rules = bucket_setup.get_cors()
        fix = "Fix: python manage.py s3_setup"
        for origin in settings.UPLOADS_CORS_ORIGINS:
            matching = [
                rule
                for rule in rules
                if origin in rule.get("AllowedOrigins", []) or "*" in rule.get("AllowedOrigins", [])
            ]
            if not matching:
                yield f"CORS does not allow the site origin {origin}. {fix}"
                continue
            if not any("PUT" in rule.get("AllowedMethods", []) for rule in matching):
                yield f"CORS does not allow PUT from {origin}. {fix}"
            if not any(
                "etag" in [h.lower() for h in rule.get("ExposeHeaders", [])] for rule in matching
            ):
                yield f"CORS does not expose the ETag header to {origin}. {fix}"

    def round_trip(self):
        body = b"s7 doctor " * 10
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
        key = f"uploads/doctor/{uuid.uuid4()}/probe.bin"
        upload_id = multipart.create_multipart_upload(
            key=key, content_type="application/octet-stream", filename="probe.bin"
        )
        try:
            part = presign.sign_part(
                key=key,
                upload_id=upload_id,
                part_number=1,
                size=len(body),
                checksum_sha256=checksum,
            )
            response = requests.put(part.url, data=body, headers=part.headers, timeout=10)
            if response.status_code != 200:
                yield f"A presigned part PUT answered {response.status_code}: {response.text[:200]}"
                return
            etag = response.headers.get("ETag", "")
            multipart.complete_multipart_upload(
                key=key,
                upload_id=upload_id,
                parts=[{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": checksum}],
            )
            head = objects.head_object(key)
            if head is None or head["ContentLength"] != len(body):
                yield "The round-trip object was not stored whole."
        finally:
            multipart.abort_multipart_upload(key=key, upload_id=upload_id)
            objects.delete_object(key)
