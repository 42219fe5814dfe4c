"""Benchmark 3: microseconds per part URL, the fast signer against botocore."""

from __future__ import annotations

import base64
import hashlib
import time

from django.conf import settings

from bench.common import median, ratio, table
from uploads.storage.connection import s3_client
from uploads.storage.sigv4 import PartUrlSigner

KEY = "uploads/version_file/0b7d9a52-5c3e-4a57-b8b5-1c0f2f7f2c11/marathon-infinity.zip"
UPLOAD_ID = "ZTk2YjQ1NjctYjQ0NC00NmQ4LWE0ZTItZjc4MjE2OGYwYTQz"


def _digests(n):
    data = str(n).encode()
    return (
        base64.b64encode(hashlib.sha256(data).digest()).decode(),
        base64.b64encode(hashlib.md5(data).digest()).decode(),
    )


def _botocore(count):
    client = s3_client()
    digests = [_digests(n) for n in range(count)]
    started = time.perf_counter()
    for n, (sha, md5) in enumerate(digests):
        # What uploads.s3.sign_part asks of botocore.
        client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": settings.AWS_STORAGE_BUCKET_NAME, "Key": KEY, "UploadId": UPLOAD_ID,
                "PartNumber": n % 10_000 + 1, "ContentLength": 8 * 1024 * 1024,
                "ChecksumSHA256": sha, "ContentMD5": md5,
            },
            ExpiresIn=600,
        )  # fmt: skip
    return (time.perf_counter() - started) / count * 1e6


def _fast(count):
    signer = PartUrlSigner(
        access_key=settings.AWS_ACCESS_KEY_ID, secret_key=settings.AWS_SECRET_ACCESS_KEY,
        region=settings.AWS_S3_REGION_NAME, endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        addressing_style=settings.AWS_S3_ADDRESSING_STYLE, bucket=settings.AWS_STORAGE_BUCKET_NAME,
    )  # fmt: skip
    digests = [_digests(n) for n in range(count)]
    started = time.perf_counter()
    for n, (sha, md5) in enumerate(digests):
        signer.sign_upload_part(
            key=KEY, upload_id=UPLOAD_ID, part_number=n % 10_000 + 1,
            content_length=8 * 1024 * 1024, checksum_sha256=sha, content_md5=md5, expires_in=600,
        )  # fmt: skip
    return (time.perf_counter() - started) / count * 1e6


def run(services, sizes, workdir):
    _botocore(20), _fast(20)  # warm-up: botocore loads its models on first use
    boto_runs = [_botocore(sizes.sign_urls) for _ in range(3)]
    fast_runs = [_fast(sizes.sign_urls) for _ in range(3)]
    boto, fast = median(boto_runs), median(fast_runs)
    text = table(
        ["signer", "µs per URL (median of 3)", "speed-up"],
        [
            ["botocore generate_presigned_url (baseline)", f"{boto:,.1f}", "1.00×"],
            ["uploads.storage.sigv4.PartUrlSigner", f"{fast:,.1f}", ratio(boto, fast)],
        ],
    )
    text += (
        f"\n\n{sizes.sign_urls:,} UploadPart URLs per run (SHA-256 and MD5 signed), one thread. "
        "Target: ≥ 20×."
    )
    return text, {"sign_speedup": boto / fast}
