"""Benchmark 4: the API under load, against gunicorn with S7's production config.

Each simulated uploader (its own user and token), round after round:
  a) a 100-part plan: create → sign all 100 parts in one call → abort. No bytes are sent: a
     100-part upload needs 800 MiB, which 32 uploaders cannot send on one small machine, and
     signing does not depend on the bytes.
  b) a small real upload, so that `complete` is measured doing its real work (ListParts,
     CompleteMultipartUpload, HeadObject, enqueueing): create → sign 1 → PUT → complete.
The baseline is the same rounds run by a single uploader, in the same run.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import bench_user, percentile, ratio, table

PARTS = 100
PLAN_SIZE = PARTS * 8 * 1024 * 1024  # version_file plans 8 MiB parts


def _b64(digest) -> str:
    return base64.b64encode(digest).decode()


class Uploader:
    def __init__(self, url: str, token: str, timings, lock):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.timings = timings
        self.lock = lock
        self.errors = 0

    def call(self, name, method, path, ok, **kwargs):
        started = time.perf_counter()
        response = self.session.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.timings[name].append(elapsed)
        if response.status_code not in ok:
            with self.lock:
                self.timings["errors"].append(
                    f"{name}: {response.status_code} {response.text[:200]}"
                )
            return None
        return response.json() if response.content else {}

    def plan_round(self):
        upload = self.call("create", "POST", "/api/uploads/", (201,), json={
            "filename": "load.bin", "size": PLAN_SIZE, "content_type": "application/octet-stream",
            "purpose": "version_file",
        })  # fmt: skip
        if upload is None:
            return
        parts = [
            {
                "part_number": n,
                "checksum_sha256": _b64(hashlib.sha256(os.urandom(8)).digest()),
                "content_md5": _b64(hashlib.md5(os.urandom(8)).digest()),
            }
            for n in range(1, PARTS + 1)
        ]
        self.call(
            "sign (100 parts)",
            "POST",
            f"/api/uploads/{upload['id']}/parts/",
            (200,),
            json={"parts": parts},
        )
        self.call("abort", "DELETE", f"/api/uploads/{upload['id']}/", (204,))

    def real_round(self):
        data = os.urandom(4096)
        upload = self.call("create", "POST", "/api/uploads/", (201,), json={
            "filename": "small.bin", "size": len(data), "content_type": "application/octet-stream",
            "purpose": "version_file",
        })  # fmt: skip
        if upload is None:
            return
        signed = self.call("sign (1 part)", "POST", f"/api/uploads/{upload['id']}/parts/", (200,), json={
            "parts": [{"part_number": 1, "checksum_sha256": _b64(hashlib.sha256(data).digest()),
                       "content_md5": _b64(hashlib.md5(data).digest())}],
        })  # fmt: skip
        if signed is None:
            return
        part = signed["parts"][0]
        put = requests.put(part["url"], data=data, headers=part["headers"], timeout=60)
        if put.status_code != 200:
            with self.lock:
                self.timings["errors"].append(f"PUT: {put.status_code}")
            return
        self.call("complete", "POST", f"/api/uploads/{upload['id']}/complete/", (200, 202), json={})


def _simulate(url: str, tokens: list[str], rounds: int):
    timings = defaultdict(list)
    lock = threading.Lock()

    def one(token):
        uploader = Uploader(url, token, timings, lock)
        for _ in range(rounds):
            uploader.plan_round()
            uploader.real_round()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(one, tokens))
    return timings, time.perf_counter() - started


def _endpoint(method: str, path: str) -> str:
    if path.endswith("/parts/"):
        return "sign (1 or 100 parts)"
    if path.endswith("/complete/"):
        return "complete"
    if path == "/api/uploads/":
        return "create"
    return "abort" if method == "DELETE" else f"{method} {path}"


ENDPOINTS = ["create", "sign (100 parts)", "sign (1 part)", "abort", "complete"]


def run(services, sizes, workdir):
    tokens = [bench_user(f"bench-load-{i}")[1] for i in range(sizes.uploaders)]
    url = services.web.url
    _simulate(url, tokens[:1], 1)  # warm-up
    alone, alone_seconds = _simulate(url, tokens[:1], max(3, sizes.rounds))
    offset = services.web.log_offset()
    loaded, seconds = _simulate(url, tokens, sizes.rounds)
    in_server = defaultdict(list)
    for method, path, _, took in services.web.requests_since(offset):
        in_server[_endpoint(method, path)].append(took)
    count = sum(len(loaded[name]) for name in ENDPOINTS)
    alone_count = sum(len(alone[name]) for name in ENDPOINTS)
    rows = []
    for name in ENDPOINTS:
        base50 = percentile(alone[name], 50) * 1000
        p50 = percentile(loaded[name], 50) * 1000
        p99 = percentile(loaded[name], 99) * 1000
        rows.append([
            name, len(loaded[name]), f"{base50:.1f}", f"{p50:.1f}", f"{p99:.1f}",
            ratio(p50, base50), ratio(p99, base50),
        ])  # fmt: skip
    rate, alone_rate = count / seconds, alone_count / alone_seconds
    text = (
        f"**{rate:,.0f} requests/s** with {sizes.uploaders} concurrent uploaders "
        f"({count:,} requests in {seconds:.1f} s) against {alone_rate:,.0f} requests/s for one "
        f"uploader alone (baseline): {ratio(rate, alone_rate)}. "
        f"Errors: {len(loaded['errors'])}.\n\n"
    )
    text += table(
        ["endpoint", "requests", "alone p50 (ms, baseline)", "loaded p50 (ms)", "loaded p99 (ms)",
         "p50 / baseline", "p99 / baseline"],
        rows,
    )  # fmt: skip
    text += (
        f"\n\nLatency as each uploader's client measured it (queueing included). gunicorn "
        f"{os.environ.get('WEB_CONCURRENCY', '2')} workers × {os.environ.get('GUNICORN_THREADS', '4')} "
        "threads (gunicorn.conf.py), Postgres and Redis; the load generator is threads in the bench "
        "process on the same cores. Each round: create → sign 100 parts (one call) → abort, then "
        "create → sign 1 → PUT 4 KiB → complete (see bench/load.py for why). Target: signing p99 < 100 ms."
    )
    text += (
        "\n\nThe same requests as gunicorn timed them (from accept to response, without the wait in the listen queue): "
        + "; ".join(
            f"{name} p50 {percentile(times, 50) * 1000:.1f} ms, p99 {percentile(times, 99) * 1000:.1f} ms"
            for name, times in sorted(in_server.items())
        )
        + "."
    )
    if loaded["errors"]:
        text += "\n\nFirst errors: " + "; ".join(loaded["errors"][:3])
    return text, {"sign_p99_ms": percentile(loaded["sign (100 parts)"], 99) * 1000}
