"""Benchmark 4: the API's requests, alone and under an open-loop load, against gunicorn with S7's
production config.

Alone: one uploader (its own user and token), round after round, each round's upload ready
before the next begins:
  a) a 100-part plan: create → sign all 100 parts in one call → abort. No bytes are sent: a
     100-part upload needs 800 MiB, and signing does not depend on the bytes.
  b) a small real upload, so that `complete` is measured doing its real work (ListParts,
     the checks, enqueueing): create → sign 1 → PUT → complete.

Under load: signing requests arrive at a set rate whatever the answers, as real uploaders sign
between parts (an open loop: a slow answer does not slow the arrivals, and each latency counts
from when the request was due, so a load generator that falls behind shows as latency too).
The rate climbs until signing's p99 passes 100 ms; the highest rate that kept it below is
reported, and p50/p99 at half that rate.
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

from bench.common import bench_user, percentile, table

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
        _wait_until_final(upload["id"])


def _wait_until_final(upload_id: str, timeout: float = 60) -> None:
    """Each request is measured alone: the worker's verification of one round's upload must
    not share the cores with the next round's requests. Read from the database, so that no
    request of the bench's own shows in the server's figures."""
    from uploads.core.models import FINAL_STATES, Upload

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Upload.objects.filter(pk=upload_id, state__in=FINAL_STATES).exists():
            return
        time.sleep(0.02)


def _simulate(url: str, tokens: list[str], rounds: int, kind: str):
    """``rounds`` rounds of ``kind`` ("plan" or "real") by each token's uploader at once."""
    timings = defaultdict(list)
    lock = threading.Lock()

    def one(token):
        uploader = Uploader(url, token, timings, lock)
        one_round = uploader.plan_round if kind == "plan" else uploader.real_round
        for _ in range(rounds):
            one_round()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(one, tokens))
    return timings, time.perf_counter() - started


# Each due request waits for a free thread; with this many, the generator itself adds no delay
# until the answers take longer than GENERATOR_THREADS / rate.
GENERATOR_THREADS = 64
P99_LIMIT_MS = 100
RATES = (25, 50, 100, 150, 200, 250, 300, 400, 500, 600)


def _open_uploads(url: str, tokens: list[str]) -> list[tuple[str, str]]:
    targets = []
    for token in tokens:
        answer = requests.post(
            f"{url}/api/uploads/", headers={"Authorization": f"Token {token}"}, timeout=60,
            json={"filename": "load.bin", "size": PLAN_SIZE, "purpose": "version_file",
                  "content_type": "application/octet-stream"},
        )  # fmt: skip
        answer.raise_for_status()
        targets.append((token, answer.json()["id"]))
    return targets


class Generator:
    """The load generator's threads, each with its own keep-alive connection, kept across rates."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(GENERATOR_THREADS, thread_name_prefix="load")
        self.local = threading.local()

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def close(self) -> None:
        self.pool.shutdown()


def _open_loop(generator, url, targets: list[tuple[str, str]], rate: float, seconds: float) -> dict:
    """Signing requests (one part each) at ``rate`` per second for ``seconds``."""
    count = max(1, int(rate * seconds))
    checksum = _b64(hashlib.sha256(b"load").digest())
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.1

    def fire(i: int) -> None:
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        session = generator.session()
        token, upload_id = targets[i % len(targets)]
        part = 1 + (i // len(targets)) % PARTS
        try:
            response = session.post(
                f"{url}/api/uploads/{upload_id}/parts/", timeout=30,
                headers={"Authorization": f"Token {token}"},
                json={"parts": [{"part_number": part, "checksum_sha256": checksum}]},
            )  # fmt: skip
            problem = None if response.status_code == 200 else f"{response.status_code}"
        except requests.RequestException as exc:
            problem = type(exc).__name__
        took = time.perf_counter() - due
        with lock:
            latencies.append(took)
            if problem:
                errors.append(problem)

    list(generator.pool.map(fire, range(count)))
    return {
        "rate": rate,
        "count": count,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "errors": errors,
    }


def _endpoint(method: str, path: str, kind: str) -> str:
    if path.endswith("/parts/"):
        return "sign (100 parts)" if kind == "plan" else "sign (1 part)"
    if path.endswith("/complete/"):
        return "complete"
    if path == "/api/uploads/":
        return "create"
    return "abort" if method == "DELETE" else f"{method} {path}"


ENDPOINTS = ["create", "sign (100 parts)", "sign (1 part)", "abort", "complete"]


def run(services, sizes, workdir):
    tokens = [bench_user(f"bench-load-{i}")[1] for i in range(sizes.uploaders)]
    url = services.web.url
    alone, in_server = defaultdict(list), defaultdict(list)
    # Plans (create, sign 100, abort) apart from real uploads (create, sign 1, PUT, complete),
    # so that gunicorn's figures tell a 100-part signing from a 1-part one.
    for kind in ("plan", "real"):
        _simulate(url, tokens[:1], 1, kind)  # warm-up
        offset = services.web.log_offset()
        timings, _ = _simulate(url, tokens[:1], max(3, sizes.rounds), kind)
        for name, values in timings.items():
            alone[name] += values
        for method, path, _, took in services.web.requests_since(offset):
            in_server[_endpoint(method, path, kind)].append(took)

    targets = _open_uploads(url, tokens)
    generator = Generator()
    try:
        # Every generator thread opens its connection, every gunicorn thread serves a signing.
        _open_loop(generator, url, targets, RATES[0], 2 * GENERATOR_THREADS / RATES[0])
        steps, best = [], None
        for rate in RATES[: sizes.load_rates]:
            step = _open_loop(generator, url, targets, rate, sizes.load_seconds)
            steps.append(step)
            if step["p99"] >= P99_LIMIT_MS or step["errors"]:
                break
            best = step
        # Half the rate on a machine that has settled after the overloaded step, as it would be
        # on a day that never saw it.
        time.sleep(sizes.load_settle_seconds)
        half = (
            _open_loop(generator, url, targets, best["rate"] / 2, sizes.load_seconds)
            if best
            else None
        )
    finally:
        generator.close()
    for token, upload_id in targets:
        requests.delete(
            f"{url}/api/uploads/{upload_id}/", headers={"Authorization": f"Token {token}"}, timeout=60
        )  # fmt: skip
    errors = [error for step in steps for error in step["errors"] if best and step is not steps[-1]]
    errors += half["errors"] if half else []

    if best:
        text = (
            f"**{best['rate']:,.0f} signing requests/s** is the highest rate tried that kept "
            f"signing's p99 under {P99_LIMIT_MS} ms (p50 {best['p50']:.1f} ms, p99 "
            f"{best['p99']:.1f} ms); at half of it, {half['rate']:,.0f}/s: p50 "
            f"{half['p50']:.1f} ms, p99 {half['p99']:.1f} ms. Errors: {len(errors)}.\n\n"
        )
    else:
        text = (
            f"No rate tried kept signing's p99 under {P99_LIMIT_MS} ms. Errors: {len(errors)}.\n\n"
        )
    text += table(
        ["rate (requests/s)", "requests", "p50 (ms)", "p99 (ms)", "errors"],
        [[f"{step['rate']:,.0f}", step["count"], f"{step['p50']:.1f}", f"{step['p99']:.1f}",
          len(step["errors"])] for step in steps + ([half] if half else [])],
    )  # fmt: skip
    text += (
        f"\n\nOpen loop: signing requests (one part each, over {len(targets)} users' open "
        f"uploads) sent at each rate for {sizes.load_seconds:g} s whatever the answers, by "
        f"{GENERATOR_THREADS} threads in the bench process on the same cores; latency from when "
        f"each request was due to its answer. gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} "
        f"workers × {os.environ.get('GUNICORN_THREADS', '4')} threads (gunicorn.conf.py), "
        "Postgres, Redis and S3 on the same machine. The last rate listed before the half-rate "
        "row is the first that failed. Target: ≥ 200 requests/s with signing p99 < 100 ms."
    )
    rows = []
    for name in ENDPOINTS:
        client_p50 = percentile(alone[name], 50) * 1000
        rows.append([name, len(alone[name]), f"{client_p50:.1f}"])
    text += "\n\nEach request alone (one uploader, one request at a time):\n\n" + table(
        ["request", "count", "p50 as the client saw it (ms)"], rows
    )
    text += (
        "\n\nAs gunicorn timed them (accept to response): "
        + "; ".join(
            f"{name} p50 {percentile(times, 50) * 1000:.1f} ms"
            for name, times in sorted(in_server.items())
        )
        + ". Targets alone: sign ≤ 3 ms, create ≤ 6 ms, complete ≤ 10 ms (this complete is of "
        "a one-part upload; benchmark 5 times 100 parts)."
    )
    if errors:
        text += "\n\nFirst errors: " + "; ".join(errors[:3])
    return text, {
        "best_rate": best["rate"] if best else 0,
        "half_p99_ms": half["p99"] if half else float("nan"),
    }
