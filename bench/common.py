"""What the benchmarks share: sizes (overridable), users, statistics, the machine, tables."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class Sizes:
    file_mib: int  # benchmarks 1 and 2
    repeat: int  # runs of each side of benchmarks 1 and 2 (the median is reported)
    sign_urls: int  # benchmark 3
    uploaders: int  # benchmark 4: users (each with an open upload) the load is spread over
    rounds: int
    load_seconds: int  # benchmark 4: how long each rate of the open loop runs
    load_rates: int  # benchmark 4: how many of the open loop's rates, at most
    load_settle_seconds: int  # benchmark 4: the pause after the overloaded rate
    complete_parts: int  # benchmark 5
    complete_baseline_parts: int
    tiny_parts: int  # benchmark 5: a real request over this many 1 KiB parts
    image_megapixels: int  # benchmark 6
    image_repeat: int
    page_downloads: int  # benchmark 7
    page_rounds: int
    page_requests: int
    analytics_items: int  # benchmark 8
    analytics_downloads: int
    analytics_uploads: int
    analytics_stress_uploads: int
    analytics_repeat: int
    scale_uploads: int  # benchmark 12: concurrent uploads
    scale_file_mib: int
    import_downloads: int  # benchmark 13
    import_day_downloads: int
    text_length: int  # benchmark 14: 0 is the longest a form takes
    text_repeat: int
    text_requests: int
    import_files: int  # benchmark 13: the live site's stored files (versions and screenshots)
    import_day_files: int
    apilists_downloads: int  # benchmark 15
    apilists_rounds: int
    apilists_requests: int
    link_file_mib: int  # benchmark 11 on the shaped links: the fast links' file
    link_slow_file_mib: int  # the home line's file
    link_repeat: int
    link_count: int  # how many of benchmark 11's links, in order
    warm_up: int  # 1: the heavy paths (uploads, page runs) run once unmeasured before the runs

    @classmethod
    def from_env(cls, smoke: bool) -> Sizes:
        defaults = (
            dict(file_mib=10, repeat=1, sign_urls=50, uploaders=4, rounds=1, load_seconds=1,
                 load_rates=2, load_settle_seconds=0, complete_parts=6, complete_baseline_parts=2,
                 tiny_parts=20, image_megapixels=1, image_repeat=1,
                 page_downloads=10_000, page_rounds=1, page_requests=3,
                 analytics_items=20, analytics_downloads=5000, analytics_uploads=500,
                 analytics_stress_uploads=1000, analytics_repeat=1,
                 scale_uploads=6, scale_file_mib=1,
                 import_downloads=2000, import_day_downloads=100,
                 text_length=2000, text_repeat=1, text_requests=2,
                 import_files=12, import_day_files=4,
                 apilists_downloads=2000, apilists_rounds=1, apilists_requests=2,
                 link_file_mib=2, link_slow_file_mib=1, link_repeat=1, link_count=1, warm_up=0)
            if smoke
            else dict(file_mib=1024, repeat=3, sign_urls=5000, uploaders=32, rounds=15, load_seconds=4,
                      load_rates=99, load_settle_seconds=5, complete_parts=1000, complete_baseline_parts=100, tiny_parts=10_000, image_megapixels=24,
                      image_repeat=3, page_downloads=1_000_000, page_rounds=5, page_requests=20,
                      analytics_items=600, analytics_downloads=12_000_000,
                      analytics_uploads=20_000, analytics_stress_uploads=100_000,
                      analytics_repeat=5, scale_uploads=50, scale_file_mib=8,
                      import_downloads=12_000_000, import_day_downloads=20_000,
                      text_length=0, text_repeat=5, text_requests=20,
                      import_files=2000, import_day_files=60,
                      apilists_downloads=12_000_000, apilists_rounds=3, apilists_requests=5,
                      link_file_mib=1024, link_slow_file_mib=64, link_repeat=2, link_count=3, warm_up=1)
        )  # fmt: skip
        return cls(
            **{name: _env_int(f"BENCH_{name.upper()}", value) for name, value in defaults.items()}
        )


def bench_user(name: str):
    """A user of the bench database and its API token."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(
        username=name, defaults={"email": f"{name}@example.org"}
    )
    return user, Token.objects.get_or_create(user=user)[0].key


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values) -> float:
    return statistics.median(values)


def write_random_file(path: Path, size: int) -> Path:
    chunk = 8 * MiB
    with open(path, "wb") as f:
        for start in range(0, size, chunk):
            f.write(os.urandom(min(chunk, size - start)))
    return path


def _first_line(command: list[str]) -> str:
    try:
        return (
            subprocess.run(command, capture_output=True, text=True, timeout=10)
            .stdout.strip()
            .splitlines()[0]
        )
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    from devtools.seaweedfs import weed_binary

    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {memory}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {_first_line(['psql', '--version'])}; "
        f"{_first_line(['redis-server', '--version'])}",
        f"- SeaweedFS: {_first_line([weed_binary(), 'version'])}",
        "- Everything (S3, Postgres, Redis, gunicorn, Celery, the clients) shares this machine.",
    ]


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(value: float, baseline: float) -> str:
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return "n/a"
    return f"{value / baseline:.2f}×"


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it, from /proc (threads' children included)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                todo += [
                    int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                ]
        except OSError:
            continue
    return pids
