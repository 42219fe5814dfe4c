"""The bench's own services, started like the tests start theirs and torn down afterwards.

SeaweedFS on a temporary directory, a Postgres database ``s7_bench_<pid>`` (created, migrated,
dropped), Redis under a prefix of its own, a Celery worker, and gunicorn with S7's production
config (gunicorn.conf.py) on bench settings that add the old way's URL.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from devtools.seaweedfs import LocalS3, discard, free_port

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"


def configure_environment(run_id: str, root: Path) -> dict:
    """The environment of the bench process and of every service it starts."""
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.oldway.settings",
        "S7_ENV": "development",
        "DATABASE_URL": f"{PG}/s7_bench_{run_id}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CACHE_KEY_PREFIX": f"s7bench{run_id}",
        "CELERY_QUEUE": f"s7bench{run_id}",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_STORAGE_BUCKET_NAME": "s7-bench",
        "S7_VAR_DIR": str(root / "var"),
        # Stock Uppy's page script, built by benchmark 11 and served by the bench's own URL.
        "BENCH_STOCK_UPPY_JS": str(root / "stock-uppy.js"),
        # Development mode for its local defaults, but without DEBUG, which would keep every SQL
        # query in memory.
        "DEBUG": "0",
        # A run keeps what it uploaded (three 1 GiB files, then two of 4 GiB for time to ready):
        # more than one user's 10 GB; the quota has tests of its own.
        "UPLOADS_QUOTA_BYTES": str(1000**4),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    return env


def _run_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(sql)


class Process:
    """A service subprocess in its own session, with its log in a file."""

    def __init__(self, name: str, command: list[str], env: dict, log_path: Path):
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_for(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not start ({what}):\n{self.log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


class WebServer(Process):
    """gunicorn -c gunicorn.conf.py, with an access log that records each request's duration."""

    LINE = re.compile(r"^(\S+) (\S+) (\d{3}) (\d+)$")

    def __init__(self, env: dict, root: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = root / f"access-{self.port}.log"
        command = [
            str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
            # Loopback only; the production config binds 0.0.0.0:$PORT.
            "--bind", f"127.0.0.1:{self.port}",
            "--access-logfile", str(self.access_log),
            # %(D)s: the request's duration in the worker, in microseconds.
            "--access-logformat", "%(m)s %(U)s %(s)s %(D)s",
            "s7.wsgi",
        ]  # fmt: skip
        super().__init__("gunicorn", command, env, root / f"gunicorn-{self.port}.log")
        self.wait_for(self._answers, f"no answer on {self.url}")

    def _answers(self) -> bool:
        try:
            requests.get(f"{self.url}/api/uploads/purposes/", timeout=2)
            return True
        except requests.RequestException:
            return False

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def log_offset(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def requests_since(self, offset: int) -> list[tuple[str, str, int, float]]:
        """(method, path, status, seconds) of every request logged after ``offset``."""
        time.sleep(0.2)  # the access log is written after the response
        with open(self.access_log) as f:
            f.seek(offset)
            found = []
            for line in f:
                match = self.LINE.match(line.strip())
                if match:
                    method, path, status, micros = match.groups()
                    found.append((method, path, int(status), int(micros) / 1e6))
            return found


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


class PeakRss:
    """Peak RSS growth of processes over a block: resets each one's high-water mark first."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.before = {}
        for pid in pids:
            # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            self.before[pid] = _status(pid)["VmRSS"]

    def growth(self) -> int:
        return max(_status(pid)["VmHWM"] - self.before[pid] for pid in self.pids)

    def peak(self) -> int:
        return max(_status(pid)["VmHWM"] for pid in self.pids)


class Services:
    def __init__(self, run_id: str | None = None):
        self.run_id = run_id or str(os.getpid())
        self.root = Path(tempfile.mkdtemp(prefix=f"s7-bench-{self.run_id}-"))
        self.env = configure_environment(self.run_id, self.root)
        self.processes: list[Process] = []
        self.database_created = False
        self.s3 = None
        self.web: WebServer | None = None

    def start(self) -> Services:
        import django

        _run_sql(f'CREATE DATABASE "s7_bench_{self.run_id}"')
        self.database_created = True
        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        # The bench process is no dyno: its threads (uploaders, pollers) each keep a connection,
        # more than a web process's pool holds. The services it starts keep the settings' pools.
        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
        if isinstance(pool, dict):
            pool["max_size"] = max(pool["max_size"], 32)

        call_command("migrate", verbosity=0)
        self.s3 = LocalS3(
            data_dir=self.root / "seaweedfs",
            access_key=os.environ.get("AWS_ACCESS_KEY_ID", "s7local"),
            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "s7localsecret"),
            s3_port=0,
            spread_ports=True,
        )
        self.s3_process = self.s3.start()
        # The port SeaweedFS got: this process's and every service's started from here on.
        self.env["AWS_S3_ENDPOINT_URL"] = self.s3.endpoint_url
        os.environ["AWS_S3_ENDPOINT_URL"] = settings.AWS_S3_ENDPOINT_URL = self.s3.endpoint_url
        call_command("s3_setup", wait=30, stdout=open(os.devnull, "w"))
        self.worker = self._start_worker()
        self.web = self.start_web()
        return self

    def _start_worker(self, *, name: str = "celery", beat: bool = False) -> Process:
        """A Celery worker; with ``beat``, it runs its own beat too (the Procfile's worker line)."""
        command = [
            sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
            "--queues", self.env["CELERY_QUEUE"], "--concurrency", "2", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
            "--hostname", f"{name}@%h",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.root / f"{name}-beat-schedule")]
        worker = Process("celery worker", command, self.env, self.root / f"{name}.log")
        self.processes.append(worker)
        worker.wait_for(lambda: b"ready." in worker.log_path.read_bytes(), "no 'ready.' in its log")
        return worker

    def start_worker(self, *, name: str, beat: bool = False) -> Process:
        return self._start_worker(name=name, beat=beat)

    def start_web(self) -> WebServer:
        web = WebServer(self.env, self.root)
        self.processes.append(web)
        return web

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.s3 is not None:
            discard(self.s3_process)
        if self.database_created:
            from django.db import connections

            connections.close_all()
            _run_sql(f'DROP DATABASE IF EXISTS "s7_bench_{self.run_id}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_services():
    services = Services()
    try:
        yield services.start()
    finally:
        services.stop()


# Which part of the machine a process is, from its command line; the first match names it.
_PROCESS_KINDS = (
    ("--type=renderer", "Chromium renderer (page + Web Workers)"),
    ("--type=utility", "Chromium network service"),
    ("--type=gpu", "Chromium GPU"),
    ("chromium", "Chromium browser process"),
    ("weed", "SeaweedFS"),
    ("gunicorn", "gunicorn"),
    ("celery", "Celery"),
    ("postgres", "Postgres"),
    ("redis-server", "Redis"),
)


def _process_kind(command: str) -> str | None:
    return next((kind for marker, kind in _PROCESS_KINDS if marker in command), None)


class CpuAccount:
    """CPU seconds each kind of process used over a block, the machine's whole profile of it.

    /proc is sampled every 100 ms in a thread, so that a process that exits within the block (a
    browser context's renderer) still counts up to its last sample.
    """

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> CpuAccount:
        self.first = self._sample()
        self.last = dict(self.first)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.last.update(self._sample())

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self.last.update(self._sample())

    @staticmethod
    def _sample() -> dict[int, tuple[str, float]]:
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kind = _process_kind(command)
            if kind:
                found[int(entry.name)] = (kind, (int(fields[11]) + int(fields[12])) / ticks)
        return found

    def seconds(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, (kind, cpu) in self.last.items():
            used[kind] = used.get(kind, 0.0) + cpu - self.first.get(pid, (kind, 0.0))[1]
        return used
