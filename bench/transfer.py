"""Benchmarks 1 and 2: one large file, four ways.

1. S7 (the Python client: parallel parts, each pinned by its SHA-256) against boto3's
   TransferManager writing straight to the same SeaweedFS, plain and with
   ChecksumAlgorithm="SHA256" (the same integrity S7 gives): throughput.
2. The old way (multipart/form-data through gunicorn and Django's upload handlers, then to S3)
   against S7: web-worker time per GiB (from gunicorn's access log) and peak web RSS growth.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from django.conf import settings

from bench.common import MiB, bench_user, median, ratio, table, write_random_file
from bench.services import PeakRss, Services
from uploads.client import S7Client
from uploads.storage import objects

WORKERS = 8
GiB = 1024 * MiB


class MultipartBody:
    """A multipart/form-data body streamed from disk, with its exact length known up front."""

    def __init__(self, path: str, field: str = "file"):
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{os.path.basename(path)}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.file = open(path, "rb")
        self.size = len(self.head) + os.path.getsize(path) + len(self.tail)
        self.stage = 0

    def __len__(self):
        return self.size

    def read(self, amount: int = -1) -> bytes:
        if self.stage == 0:
            self.stage = 1
            return self.head
        if self.stage == 1:
            data = self.file.read(amount if amount and amount > 0 else 1024 * 1024)
            if data:
                return data
            self.stage = 2
            self.file.close()
            return self.tail
        return b""


def _transfer_manager_client():
    # boto3's defaults for an S3 client, pointed at the same SeaweedFS as S7.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        region_name=settings.AWS_S3_REGION_NAME,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=WORKERS + 2),
    )


def _s7_upload(services: Services, client: S7Client, path) -> dict:
    web = services.web
    offset = web.log_offset()
    memory = PeakRss(web.workers())
    result = client.upload(path, purpose="version_file", resume=False, wait=True)
    logged = web.requests_since(offset)
    assert result.state == "ready", result.error
    readiness = ready_figures(result.id)
    objects.delete_object(s3_key(result.id))
    return {
        **readiness,
        "seconds": result.upload_seconds,
        "ready": result.ready_seconds,
        "web": sum(seconds for *_, seconds in logged),
        "by_kind": web_time_by_kind(logged),
        "requests": len(logged),
        "rss": memory.growth(),
        "client_api": result.api_seconds,
    }


def ready_figures(upload_id: str, timeout: float = 900) -> dict:
    """The worker's share of the time to ready (completion handed over → ready) and when the
    whole file's SHA-256, computed after ready, was stored (polled, so within 50 ms)."""
    from django.utils import timezone

    from uploads.core.models import Upload

    deadline = time.monotonic() + timeout
    while not (upload := Upload.objects.get(pk=upload_id)).sha256:
        if time.monotonic() > deadline:
            raise RuntimeError(f"upload {upload_id} has no SHA-256 after {timeout} s")
        time.sleep(0.05)
    return {
        "worker": (upload.ready_at - upload.completing_at).total_seconds(),
        "sha256_after_ready": (timezone.now() - upload.ready_at).total_seconds(),
    }


def time_to_ready(services: Services, client: S7Client, sizes, workdir, s7_runs) -> str:
    """Transfer end → ready, at the benchmark's size (its S7 runs) and at four times it."""
    large_mib = 4 * sizes.file_mib
    by_size = {sizes.file_mib: s7_runs}
    if os.environ.get("BENCH_READY_LARGE", "1") != "0":
        large = write_random_file(workdir / "large.bin", large_mib * MiB)
        by_size[large_mib] = [
            _s7_upload(services, client, large) for _ in range(max(1, sizes.repeat - 1))
        ]
        large.unlink()
    rows = []
    for mib, runs in by_size.items():
        rows.append(
            [f"{mib:,} MiB", len(runs), ", ".join(f"{run['seconds']:.2f}" for run in runs),
             ", ".join(f"{run['ready']:.2f}" for run in runs),
             f"{median([run['ready'] for run in runs]):.2f}",
             f"{median([run['worker'] for run in runs]):.2f}",
             ", ".join(f"{run['sha256_after_ready']:.1f}" for run in runs)]
        )  # fmt: skip
    text = table(
        ["file", "runs", "transfer (s)", "transfer end → ready (s, each run)",
         "median (s)", "worker's share (s, median)", "SHA-256 stored after ready (s)"],
        rows,
    )  # fmt: skip
    return text + (
        "\n\nThe Python client's view: from the answer of `complete` to its poll that sees "
        "`ready`. The worker's share runs from the complete request's hand-over to the ready "
        "transition (the upload's own timestamps): CompleteMultipartUpload, HeadObject (size and "
        "the composite SHA-256 S3 computed from the signed parts), two ranged reads for the type "
        "sniffing; the rest is the task's pick-up and the client's polling. The whole file's "
        "SHA-256, which needs every byte read back, comes after ready in a task of its own; the "
        "next run starts once it is stored. Target: ≤ 0.5 s to ready at both sizes."
    )


def web_time_by_kind(logged) -> dict[str, list[float]]:
    kinds: dict[str, list[float]] = {}
    for method, path, _, seconds in logged:
        if path.endswith("/parts/"):
            kind = "sign"
        elif path.endswith("/complete/"):
            kind = "complete"
        elif path.endswith("/progress/"):
            kind = "progress report" if method == "POST" else "status poll"
        elif path == "/api/uploads/":
            kind = "create" if method == "POST" else "find open upload"
        else:
            kind = "final status" if method == "GET" else f"{method} other"
        kinds.setdefault(kind, []).append(seconds)
    return kinds


def s3_key(upload_id: str) -> str:
    from uploads.core.models import Upload

    return Upload.objects.get(pk=upload_id).key


def _transfer_manager_upload(path, *, checksum: str | None = None) -> dict:
    client = _transfer_manager_client()
    key = f"bench/transfer-manager/{uuid.uuid4()}"
    config = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=WORKERS)
    extra = {"ChecksumAlgorithm": checksum} if checksum else None
    started = time.perf_counter()
    client.upload_file(
        str(path), settings.AWS_STORAGE_BUCKET_NAME, key, Config=config, ExtraArgs=extra
    )
    seconds = time.perf_counter() - started
    client.delete_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key)
    return {"seconds": seconds}


def _old_way_upload(services: Services, path) -> dict:
    web = services.web
    offset = web.log_offset()
    memory = PeakRss(web.workers())
    body = MultipartBody(str(path))
    started = time.perf_counter()
    response = requests.post(
        f"{web.url}/bench/oldway/upload/", data=body, headers={"Content-Type": body.content_type},
        timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    response.raise_for_status()
    logged = web.requests_since(offset)
    objects.delete_object(response.json()["key"])
    return {
        "seconds": seconds,
        "web": sum(seconds for *_, seconds in logged),
        "requests": len(logged),
        "rss": memory.growth(),
    }


def client_for(services, token) -> S7Client:
    return S7Client(services.web.url, token, workers=WORKERS, progress=False)


def run(services: Services, sizes, workdir) -> tuple[str, str, dict]:
    _, token = bench_user("bench-transfer")
    client = client_for(services, token)
    size = sizes.file_mib * MiB
    big = write_random_file(workdir / "big.bin", size)
    warm = write_random_file(workdir / "warm.bin", 2 * MiB)
    # Warm both ways up first: a worker's first requests import modules and build its S3
    # client, which is not what a file's size costs.
    # Concurrent warm-ups, so that every gunicorn worker (not only the first to accept) has
    # served each kind of request before anything is measured.
    with ThreadPoolExecutor(4) as pool:
        for _ in range(2 * sizes.warm_up):
            list(
                pool.map(
                    lambda _: _s7_upload(services, client_for(services, token), warm), range(4)
                )
            )
            list(pool.map(lambda _: _old_way_upload(services, warm), range(4)))
    for _ in range(sizes.warm_up):
        _transfer_manager_upload(warm)
        _transfer_manager_upload(warm, checksum="SHA256")

    s7_runs, tm_runs, sha_runs, old_runs = [], [], [], []
    for _ in range(sizes.repeat):
        tm_runs.append(_transfer_manager_upload(big))
        sha_runs.append(_transfer_manager_upload(big, checksum="SHA256"))
        s7_runs.append(_s7_upload(services, client, big))
    for _ in range(max(1, sizes.repeat - 1)):
        old_runs.append(_old_way_upload(services, big))

    gib = size / GiB
    mb = size / 1e6
    tm_rate = median([mb / run["seconds"] for run in tm_runs])
    sha_rate = median([mb / run["seconds"] for run in sha_runs])
    s7_rate = median([mb / run["seconds"] for run in s7_runs])
    one = table(
        ["", "throughput (MB/s, median)", "runs (s)", "ratio to plain boto3",
         "ratio to boto3 + SHA-256"],
        [
            ["boto3 TransferManager → SeaweedFS (baseline)", f"{tm_rate:,.0f}",
             ", ".join(f"{run['seconds']:.2f}" for run in tm_runs), "1.00×",
             ratio(tm_rate, sha_rate)],
            ["boto3 TransferManager, ChecksumAlgorithm=\"SHA256\" (baseline)", f"{sha_rate:,.0f}",
             ", ".join(f"{run['seconds']:.2f}" for run in sha_runs), ratio(sha_rate, tm_rate),
             "1.00×"],
            ["S7 client → API + SeaweedFS", f"{s7_rate:,.0f}",
             ", ".join(f"{run['seconds']:.2f}" for run in s7_runs), ratio(s7_rate, tm_rate),
             ratio(s7_rate, sha_rate)],
        ],
    )  # fmt: skip
    one += (
        f"\n\n{sizes.file_mib:,} MiB file, {WORKERS} parallel parts of 8 MiB on every side, runs "
        "alternating. S7's time runs from its first API call to the answer of `complete`; the "
        "upload was `ready` "
        f"{median([run['ready'] for run in s7_runs]):.2f} s (median) later. boto3 with "
        "SHA-256 sends each part's checksum (S3 checks it) as S7 does. Targets: ≥ 0.95× plain "
        "boto3 and ≥ 1.0× boto3 with SHA-256."
    )
    one += "\n\n**Time to ready.**\n\n" + time_to_ready(services, client, sizes, workdir, s7_runs)

    s7_web = median([run["web"] for run in s7_runs]) / gib
    old_web = median([run["web"] for run in old_runs]) / gib
    s7_rss = median([run["rss"] for run in s7_runs]) / MiB
    old_rss = median([run["rss"] for run in old_runs]) / MiB
    two = table(
        ["", "web-worker time per GiB (s)", "requests per upload", "peak web RSS growth (MiB)",
         "upload time (s)"],
        [
            ["old way: form POST through Django → S3 (baseline)", f"{old_web:.3f}",
             old_runs[0]["requests"], f"{old_rss:.1f}", f"{median([r['seconds'] for r in old_runs]):.2f}"],
            ["S7", f"{s7_web:.4f}", s7_runs[0]["requests"], f"{s7_rss:.1f}",
             f"{median([r['seconds'] for r in s7_runs]):.2f}"],
            ["ratio S7 / baseline", ratio(s7_web, old_web), "", ratio(s7_rss, old_rss) if old_rss > 0 else "n/a",
             ""],
        ],
    )  # fmt: skip
    breakdown = ", ".join(
        f"{kind} {len(times)}× = {sum(times) * 1000:,.0f} ms"
        for kind, times in sorted(s7_runs[-1]["by_kind"].items(), key=lambda item: -sum(item[1]))
    )
    two += (
        f"\n\nS7's web time in its last run, by request: {breakdown}. RSS growth of each S7 run: "
        + ", ".join(f"{run['rss'] / MiB:.1f}" for run in s7_runs)
        + " MiB (median in the table)."
    )
    two += (
        "\n\nWeb time is the sum of gunicorn's own request durations (`%(D)s` in its access log), "
        "including S7's progress reports and status polls until `ready`. RSS growth is the "
        "largest rise (median over runs) of any gunicorn worker's high-water mark (VmHWM, reset before each run) "
        "over its RSS before the upload. Targets: S7 ≤ 0.1 s of web time per GiB and < 10 MB "
        "RSS growth."
    )
    figures = {
        "s7_rate": s7_rate,
        "tm_rate": tm_rate,
        "tm_sha256_rate": sha_rate,
        "s7_web_per_gib": s7_web,
        "s7_rss_mib": s7_rss,
    }
    return one, two, figures
