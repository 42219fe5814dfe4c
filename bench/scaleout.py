"""Benchmark 12: scale-out. Many concurrent uploads against one web process and one worker, then
against two of each (each worker with its own beat, as two worker dynos of the Procfile's line
would run), sharing one Postgres, Redis and S3.

Every upload must end ready exactly once: the worker logs one JSON line per transition
(``uploads.transitions``), and each upload must have exactly one line to ``ready`` and none to
``failed`` across every worker's log, and its object's SHA-256 must be the file's. Throughput is
the bytes of every upload over the time until the last one is ready.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import MiB, bench_user, ratio, table, write_random_file
from bench.services import Services
from uploads.client import S7Client
from uploads.core.models import Upload

USERS = 10  # each user may hold a limited number of open uploads


def _transitions(log: Path, offset: int) -> list[dict]:
    lines = []
    with open(log, "rb") as f:
        f.seek(offset)
        for raw in f:
            text = raw.decode("utf-8", "replace")
            start = text.find('{"event": "upload_transition"')
            if start >= 0:
                try:
                    lines.append(json.loads(text[start:]))
                except ValueError:
                    pass
    return lines


def _round(webs, workers, tokens, file: Path, uploads: int) -> dict:
    offsets = {worker.log_path: worker.log_path.stat().st_size for worker in workers}
    started = time.perf_counter()

    def one(i: int):
        client = S7Client(
            webs[i % len(webs)].url, tokens[i % len(tokens)], workers=4, progress=False
        )
        return client.upload(str(file), purpose="version_file", resume=False, wait=True)

    with ThreadPoolExecutor(uploads) as pool:
        results = list(pool.map(one, range(uploads)))
    seconds = time.perf_counter() - started
    time.sleep(0.5)  # the last transition lines reach the logs
    lines = [line for log, offset in offsets.items() for line in _transitions(log, offset)]
    ids = {result.id for result in results}
    to_ready = {upload_id: 0 for upload_id in ids}
    failed = 0
    for line in lines:
        if line.get("upload") in ids:
            if line.get("to") == "ready":
                to_ready[line["upload"]] += 1
            elif line.get("to") == "failed":
                failed += 1
    expected = hashlib.sha256(file.read_bytes()).hexdigest()
    # The whole file's SHA-256 is computed after ready, in a task of its own.
    deadline = time.monotonic() + 300
    while Upload.objects.filter(pk__in=ids, sha256="").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    stored = {
        str(pk): sha256
        for pk, sha256 in Upload.objects.filter(pk__in=ids).values_list("pk", "sha256")
    }
    return {
        "seconds": seconds,
        "uploads": uploads,
        "ready": sum(result.state == "ready" for result in results),
        "ready_once": sum(count == 1 for count in to_ready.values()),
        "ready_twice": sum(count > 1 for count in to_ready.values()),
        "failed": failed,
        "sha_ok": sum(stored.get(result.id) == expected for result in results),
    }


def run(services: Services, sizes, workdir: Path) -> tuple[str, dict]:
    tokens = [bench_user(f"bench-scale-{i}")[1] for i in range(USERS)]
    file = write_random_file(workdir / "scale.bin", sizes.scale_file_mib * MiB)
    # One of each, the worker with its own beat (the Procfile's worker line).
    services.worker.stop()
    first = services.start_worker(name="scale-one", beat=True)
    for _ in range(sizes.warm_up):
        _round([services.web], [first], tokens, file, min(4, sizes.scale_uploads))
    alone = _round([services.web], [first], tokens, file, sizes.scale_uploads)
    # Two of each: a second web process and a second worker, again with its own beat.
    second_web = services.start_web()
    second = services.start_worker(name="scale-two", beat=True)
    webs = [services.web, second_web]
    for _ in range(sizes.warm_up):
        _round(webs, [first, second], tokens, file, min(4, sizes.scale_uploads))
    both = _round(webs, [first, second], tokens, file, sizes.scale_uploads)

    total = sizes.scale_uploads * sizes.scale_file_mib
    rows = []
    for name, result in (("1 web + 1 worker (baseline)", alone), ("2 web + 2 workers", both)):
        rows.append([
            name, f"{result['seconds']:.2f}", f"{total / result['seconds']:,.1f}",
            ratio(alone["seconds"], result["seconds"]),
            f"{result['ready']} of {result['uploads']}", result["ready_once"],
            result["ready_twice"], result["failed"], result["sha_ok"],
        ])  # fmt: skip
    text = table(
        ["processes", "all ready after (s)", "MiB/s", "throughput ratio", "ended ready",
         "one transition to ready", "more than one", "transitions to failed",
         "SHA-256 of the object = the file's"],
        rows,
    )  # fmt: skip
    text += (
        f"\n\n{sizes.scale_uploads} concurrent uploads of {sizes.scale_file_mib} MiB each (the "
        f"Python client, 4 parts in flight each, over {USERS} users), spread evenly over the web "
        "processes as a router would; each worker runs 2 task processes and its own beat "
        "(`celery worker --beat`, its own schedule file), against one Postgres, Redis and "
        "SeaweedFS. Transitions are counted from every worker's log. On this 2-core machine the "
        "extra processes share the same cores as everything else, so the throughput ratio shows "
        "the contention of one machine, not what a second dyno adds."
    )
    return text, {"alone_seconds": alone["seconds"], "both_seconds": both["seconds"]}
