"""Benchmark 5: completing an upload of many parts.

SeaweedFS enforces S3's 5 MiB minimum part size at CompleteMultipartUpload (EntityTooSmall; the
bench checked), so a plan of tiny parts is not possible and every part here is a real 5 MiB
part. 10,000 of them would be 50 GB of writes, too much for a benchmark on a small machine: the
bench completes BENCH_COMPLETE_PARTS parts (1,000 by default, 5 GB) and a baseline of
BENCH_COMPLETE_BASELINE_PARTS (100), and extrapolates linearly to 10,000 (marked as such). The
upload's row is written by the bench (the API plans 8 MiB parts for version_file); every part
goes through a URL signed by ``uploads.s3.sign_part`` as a client's would, then
``POST /complete/`` is timed through gunicorn, and the whole completion until ``ready``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from django.utils import timezone

from bench.common import bench_user, median, ratio, table
from uploads.core.models import Upload, UploadPart
from uploads.storage import multipart, objects, presign

PART_SIZE = 5 * 1024 * 1024  # S3's minimum
# Sending thousands of parts keeps S3 busy writing for a moment after the last answer: a second
# from a thousand parts up, a share of it for fewer.
SETTLE_SECONDS = 1


def _prepared_upload(user, parts: int, part_size: int = PART_SIZE) -> Upload:
    upload_id = uuid.uuid4()
    key = f"uploads/version_file/{upload_id}/tiny-parts.bin"
    s3_upload_id = multipart.create_multipart_upload(
        key=key, content_type="application/octet-stream", filename="tiny-parts.bin"
    )
    now = timezone.now()
    upload = Upload.objects.create(
        id=upload_id, owner=user, purpose="version_file", filename="tiny-parts.bin", key=key,
        size=parts * part_size, content_type="application/octet-stream", part_size=part_size,
        part_count=parts, s3_upload_id=s3_upload_id, created_at=now,
        expires_at=now + timedelta(hours=1),
    )  # fmt: skip
    local = threading.local()
    records = []

    # One buffer for every part: the completion does not care that the parts are alike.
    data = os.urandom(part_size)
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()

    def send(n):
        signed = presign.sign_part(key=key, upload_id=s3_upload_id, part_number=n, size=part_size,
                              checksum_sha256=sha, content_md5=md5)  # fmt: skip
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.put(signed.url, data=data, headers=signed.headers, timeout=60)
        response.raise_for_status()
        return UploadPart(upload=upload, part_number=n, checksum_sha256=sha, content_md5=md5)

    with ThreadPoolExecutor(8) as pool:
        records = list(pool.map(send, range(1, parts + 1)))
    UploadPart.objects.bulk_create(records, batch_size=2000)
    return upload


def _complete(services, token, upload, *, must_be_ready=True) -> dict:
    time.sleep(SETTLE_SECONDS * min(1.0, upload.part_count / 1000))
    web = services.web
    offset = web.log_offset()
    started = time.perf_counter()
    response = requests.post(
        f"{web.url}/api/uploads/{upload.pk}/complete/", json={},
        headers={"Authorization": f"Token {token}"}, timeout=120,
    )  # fmt: skip
    request_seconds = time.perf_counter() - started
    if response.status_code not in (200, 202):
        raise RuntimeError(f"complete answered {response.status_code}: {response.text[:500]}")
    while True:
        upload.refresh_from_db()
        if upload.is_final:
            break
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"upload {upload.pk} still {upload.state} after 600 s")
        time.sleep(0.05)
    whole = time.perf_counter() - started
    logged = [entry for entry in web.requests_since(offset) if entry[1].endswith("/complete/")]
    if must_be_ready and upload.state != "ready":
        raise RuntimeError(f"upload {upload.pk} ended {upload.state}: {upload.error}")
    if upload.state == "ready":
        objects.delete_object(upload.key)
    return {"request": request_seconds, "server": logged[0][3], "whole": whole}


def run(services, sizes, workdir):
    user, token = bench_user("bench-complete")
    # Both gunicorn workers' first completion opens their S3 client and connections.
    for _ in range(4):
        _complete(services, token, _prepared_upload(user, 2))
    baseline = _complete(services, token, _prepared_upload(user, sizes.complete_baseline_parts))
    many = _complete(services, token, _prepared_upload(user, sizes.complete_parts))
    per_part = {
        name: (many[name] - baseline[name]) / (sizes.complete_parts - sizes.complete_baseline_parts)
        for name in ("server", "request", "whole")
    }
    at_10k = {
        name: many[name] + per_part[name] * (10_000 - sizes.complete_parts) for name in per_part
    }
    rows = [
        [f"{sizes.complete_baseline_parts:,} parts (baseline)", *_ms(baseline)],
        [f"{sizes.complete_parts:,} parts", *_ms(many)],
        ["ratio", *(ratio(many[n], baseline[n]) for n in ("server", "request", "whole"))],
    ]
    if sizes.complete_parts != 10_000:
        rows.append(["10,000 parts (linear extrapolation, not measured)", *_ms(at_10k)])
        # The web request never assembles the object (the worker does), so it can be measured
        # for real with 10,000 tiny parts; S3 then refuses to assemble parts under 5 MiB, and
        # the worker fails the upload with that reason, which is all this row shows of it.
        tiny_runs = []
        for _ in range(sizes.repeat):
            upload = _prepared_upload(user, sizes.tiny_parts, part_size=1024)
            tiny_runs.append(_complete(services, token, upload, must_be_ready=False))
        tiny = {name: median(run[name] for run in tiny_runs) for name in ("server", "request")}
        rows.append(
            [f"{sizes.tiny_parts:,} parts of 1 KiB (request measured, median of "
             f"{len(tiny_runs)}: " + ", ".join(f"{run['server'] * 1000:,.0f}" for run in tiny_runs)
             + " ms in gunicorn; no object)",
             f"{tiny['server'] * 1000:,.0f}", f"{tiny['request'] * 1000:,.0f}", "—"]
        )  # fmt: skip
    text = table(
        ["upload", "complete request, in gunicorn (ms)", "complete request, client (ms)",
         "whole completion until ready (ms)"],
        rows,
    )  # fmt: skip
    text += (
        f"\n\nParts of 5 MiB ({sizes.complete_parts * PART_SIZE / 1e9:.1f} GB for the larger upload; "
        "see bench/completion.py for why not 10,000). The request lists the parts on S3 (one "
        "ListParts page per 1,000), checks them against the plan and the signed checksums, and "
        "hands the upload to the worker, which completes the object on S3, checks its size and "
        "the composite SHA-256 of the signed parts, sniffs its type and makes it `ready`; the "
        "whole file's SHA-256 is read back afterwards, in a task of its own. Slope: "
        f"{per_part['server'] * 1e6:,.0f} µs of web request per part."
    )
    return text, {"complete_request_s": many["server"], "complete_whole_s": many["whole"]}


def _ms(figures: dict) -> list[str]:
    return [f"{figures[name] * 1000:,.0f}" for name in ("server", "request", "whole")]
