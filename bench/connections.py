"""Benchmark 16: Heroku's plan limits. Postgres connections, Redis clients and Redis memory of
the whole deployment (two web dynos and one worker dyno) under load.

heroku-postgresql:essential-1 (as essential-0) takes 20 connections and heroku-redis:mini 20 clients and 25 MB.
The stack runs as Heroku runs it: two gunicorns (gunicorn.conf.py, 2 processes × 4 threads
each, one per web dyno) and ``bin/worker`` (the worker dyno: the main worker with beat, the image
worker), against a Postgres role of their own with ``CONNECTION LIMIT 20`` and a redis-server of
their own with ``maxclients 20``, so that going past either is an error. The load is benchmark
4's open loop (signing requests at a set rate, spread over both web dynos) with ten uploads
verified at once (the Python client, polling progress). A sampler reads ``pg_stat_activity``
(the role's connections), ``CLIENT LIST`` and ``INFO memory`` every 25 ms.

The baseline is the same stack with the pools as they were (a database pool of 8 per process,
Redis pools without a bound, kombu's own Redis transport, Celery's remote control on), against a
role and a Redis without limits, so that its peaks can be seen. It shares two of S7's changes
that no setting undoes (the cache's pool is one per process, not one per thread; the workers run
without heartbeats), so it understates the pools as they were.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from bench.common import MiB, bench_user, process_tree, table, write_random_file
from bench.services import PG, ROOT, Process, WebServer
from devtools.seaweedfs import free_port

PLAN_CONNECTIONS = 20  # heroku-postgresql:essential-1 (as essential-0)
PLAN_CLIENTS = 20  # heroku-redis:mini
PLAN_MEMORY = 25 * 1000 * 1000  # heroku-redis:mini, 25 MB
WEB_DYNOS = 2
UPLOADS_AT_ONCE = 10

# The pools before they followed the plan: what the baseline runs with.
UNBOUNDED = {
    "DATABASE_POOL_MAX": "8",
    "WORKER_DATABASE_POOL_MAX": "8",
    "REDIS_CACHE_MAX_CONNECTIONS": "0",
    "CELERY_BROKER_POOL_LIMIT": "10",
    "CELERY_BROKER_TRANSPORT": "redis",
    "CELERY_WORKER_ENABLE_REMOTE_CONTROL": "1",
}


# --- Services of the stack's own ------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of one run's own, on a free port, never the machine's shared one."""

    def __init__(self, root: Path, *, maxclients: int | None = None, maxmemory: str | None = None):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = root / f"redis-{self.port}"
        self.dir.mkdir(parents=True)
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
        if maxclients is not None:
            command += ["--maxclients", str(maxclients)]
        if maxmemory is not None:
            # As the README asks of Heroku's Redis: only keys with a TTL (the cache's) may go.
            command += ["--maxmemory", maxmemory, "--maxmemory-policy", "volatile-lru"]
        self.log_path = self.dir / "redis.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        import redis

        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start: {self.log_path.read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def limited_role(database: str, limit: int):
    """A login role of its own (``CONNECTION LIMIT limit``, -1 for none) that may use every
    table of ``database``; its URL. Dropped afterwards with everything granted to it."""
    import psycopg

    role = f"s7_plan_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT {int(limit)}')
    try:
        with psycopg.connect(f"{PG}/{database}", autocommit=True) as owner:
            for sql in (
                'GRANT USAGE ON SCHEMA public TO "{role}"',
                'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"',
                'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            ):
                owner.execute(sql.format(role=role))
        yield role, f"postgres://{role}@127.0.0.1:5432/{database}"
    finally:
        with psycopg.connect(f"{PG}/{database}", autocommit=True) as owner:
            owner.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
            )
            owner.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


# --- Who holds what ---------------------------------------------------------------------------------


def _socket_owners(pids: list[int]) -> dict[int, int]:
    """Socket inode → pid, over ``pids``."""
    owners = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    owners[int(target[8:-1])] = pid
        except OSError:
            continue
    return owners


def _local_ports_to_inodes(remote_port: int) -> dict[int, int]:
    """Local port → socket inode of every TCP connection to 127.0.0.1:``remote_port``."""
    found = {}
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table_path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if int(remote.rsplit(":", 1)[1], 16) == remote_port:
                found[int(local.rsplit(":", 1)[1], 16)] = inode
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _kind(pid: int, roots: dict[int, str]) -> str:
    """Which part of the deployment a process is: its dyno, then what it is in it."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return "gone"
    dyno = next((name for root, name in roots.items() if pid in process_tree(root)), "other")
    workers = {"images@": "image worker", "main@": "main worker"}
    worker = next((name for marker, name in workers.items() if marker in command), None)
    if pid in roots:
        what = "gunicorn master" if "gunicorn" in command else "bin/worker"
    elif "gunicorn" in command:
        what = "gunicorn process"
    elif "image_child" in command:
        what = "image decoder"
    elif worker and any(f"{marker}" in _command(parent) for marker in workers):
        # A pool child, or (under the main worker) beat: the same command line.
        what = f"{worker}'s children" + (" and beat" if worker == "main worker" else "")
    elif worker:
        what = worker
    else:
        what = command[:40]
    return f"{dyno}: {what}"


class Sampler(threading.Thread):
    """Peaks of the role's Postgres connections, Redis's clients and Redis's used memory."""

    def __init__(
        self, role: str, redis_server: PrivateRedis, roots: dict[int, str], interval=0.025
    ):
        super().__init__(daemon=True)
        import psycopg

        self.role, self.redis, self.roots, self.interval = role, redis_server, roots, interval
        self.database = psycopg.connect(f"{PG}/postgres", autocommit=True)
        self.own_client = self.redis.client.client_id()
        self.peak_connections = self.peak_clients = self.peak_memory = 0
        self.connections_at_peak: dict[str, int] = {}
        self.clients_at_peak: dict[str, int] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            ports = [
                port
                for (port,) in self.database.execute(
                    "SELECT client_port FROM pg_stat_activity WHERE usename = %s", [self.role]
                ).fetchall()
            ]
            clients = [
                c for c in self.redis.client.client_list() if int(c["id"]) != self.own_client
            ]
            memory = int(self.redis.client.info("memory")["used_memory"])
            if len(ports) > self.peak_connections:
                self.peak_connections = len(ports)
                self.connections_at_peak = self._owners(ports, 5432)
            if len(clients) > self.peak_clients:
                self.peak_clients = len(clients)
                client_ports = [int(c["addr"].rsplit(":", 1)[1]) for c in clients]
                self.clients_at_peak = self._owners(client_ports, self.redis.port)
            self.peak_memory = max(self.peak_memory, memory)
            time.sleep(self.interval)

    def _owners(self, ports: list[int], server_port: int) -> dict[str, int]:
        inodes = _local_ports_to_inodes(server_port)
        pids = [pid for root in self.roots for pid in process_tree(root)]
        owners = _socket_owners(pids)
        counts: dict[str, int] = {}
        for port in ports:
            pid = owners.get(inodes.get(port, -1))
            kind = _kind(pid, self.roots) if pid else "outside the stack"
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    def stop(self) -> None:
        self.running = False
        self.join()
        self.database.close()


# --- The deployment ---------------------------------------------------------------------------------


class Deployment:
    """Two web dynos and one worker dyno, as the Procfile runs them, on ``env``."""

    def __init__(self, env: dict, root: Path):
        self.root = root
        self.webs = []
        self.worker = None
        try:
            for _ in range(WEB_DYNOS):
                self.webs.append(
                    WebServer({**env, "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}, root)
                )
            log = root / f"worker-dyno-{uuid.uuid4().hex[:6]}.log"
            self.worker = Process(
                "worker dyno",
                [str(ROOT / "bin" / "worker"), "--schedule", str(root / f"{log.stem}-beat")],
                {**env, "REMAP_SIGTERM": "SIGQUIT",
                 "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"},
                log,
            )  # fmt: skip
            self.worker.wait_for(lambda: log.read_bytes().count(b"ready.") >= 2, "not ready")
        except BaseException:
            self.stop()
            raise

    def roots(self) -> dict[int, str]:
        roots = {web.pid: f"web dyno {n + 1}" for n, web in enumerate(self.webs)}
        if self.worker is not None:
            roots[self.worker.pid] = "worker dyno"
        return roots

    def logs(self) -> str:
        processes = [*self.webs, *([self.worker] if self.worker else [])]
        return "\n".join(p.log_path.read_text(errors="replace") for p in processes)

    def stop(self) -> None:
        for process in [*self.webs, *([self.worker] if self.worker else [])]:
            process.stop()


def stack_environment(base: dict, *, database_url: str, redis_url: str, queue: str) -> dict:
    return {
        **base,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "CELERY_IMAGE_QUEUE": f"{queue}-images",
        "LOG_LEVEL": "WARNING",
    }


def drive(deployment: Deployment, *, users: int, rate: float, seconds: float, file_mib: int,
          workdir: Path) -> dict:  # fmt: skip
    """Benchmark 4's open loop over every web dyno while ten uploads are sent and verified."""
    from bench.images import make_photo
    from bench.load import Generator, _open_loop, _open_uploads
    from uploads.client import S7Client

    tokens = [bench_user(f"bench-plan-{i}")[1] for i in range(max(users, UPLOADS_AT_ONCE))]
    urls = [web.url for web in deployment.webs]
    files = [write_random_file(workdir / f"plan-{n}.bin", file_mib * MiB) for n in range(2)]
    photo = make_photo(workdir / "plan-photo.jpg", 2)
    targets = [_open_uploads(url, tokens[n::len(urls)][: max(1, users // len(urls))])
               for n, url in enumerate(urls)]  # fmt: skip
    uploads: list = []
    errors: list[str] = []

    def upload(n: int):
        client = S7Client(urls[n % len(urls)], tokens[n], workers=4, progress=False)
        if n < 2:
            return client.upload(
                str(photo), purpose="screenshot", resume=False, wait=True, wait_timeout=90
            )
        return client.upload(
            str(files[n % 2]), purpose="version_file", resume=False, wait=True, wait_timeout=90
        )

    def load(n: int):
        generator = Generator()
        try:
            return _open_loop(generator, urls[n], targets[n], rate / len(urls), seconds)
        finally:
            generator.close()

    with ThreadPoolExecutor(UPLOADS_AT_ONCE + len(urls)) as pool:
        sent = [pool.submit(upload, n) for n in range(UPLOADS_AT_ONCE)]
        steps = [pool.submit(load, n) for n in range(len(urls))]
        for future in sent:
            try:
                uploads.append(future.result())
            except Exception as exc:  # the run goes on; the error is what it reports
                errors.append(f"upload: {type(exc).__name__}: {exc}"[:300])
        latencies = [future.result() for future in steps]
    errors += [f"signing: {e}" for step in latencies for e in step["errors"]]
    ready = sum(1 for u in uploads if u.state == "ready")
    return {
        "requests": sum(step["count"] for step in latencies),
        "p99": max(step["p99"] for step in latencies),
        "ready": ready,
        "errors": errors,
    }


_LIMIT_ERRORS = re.compile(
    r"too many connections|max number of clients|remaining connection slots|"
    r"No connection available|Too many connections|OperationalError|ConnectionError"
)


def limit_errors(logs: str) -> list[str]:
    """Lines of the stack's logs that say a limit or a pool was reached."""
    return [line[:300] for line in logs.splitlines() if _LIMIT_ERRORS.search(line)]


def measure(base_env: dict, database: str, workdir: Path, *, limits: bool, overrides: dict,
            users: int, rate: float, seconds: float, file_mib: int) -> dict:  # fmt: skip
    """One run of the whole deployment: peaks, errors, and where the connections were."""
    with limited_role(database, PLAN_CONNECTIONS if limits else -1) as (role, database_url):
        redis_server = PrivateRedis(workdir, maxclients=PLAN_CLIENTS if limits else None)
        deployment = None
        sampler = None
        try:
            env = stack_environment(
                {**base_env, **overrides}, database_url=database_url, redis_url=redis_server.url,
                queue=f"plan{uuid.uuid4().hex[:8]}",
            )  # fmt: skip
            deployment = Deployment(env, workdir)
            sampler = Sampler(role, redis_server, deployment.roots())
            sampler.start()
            outcome = drive(deployment, users=users, rate=rate, seconds=seconds,
                            file_mib=file_mib, workdir=workdir)  # fmt: skip
            time.sleep(1)  # beat's first sends, the last progress polls
        finally:
            if sampler is not None:
                sampler.stop()
            if deployment is not None:
                logs = deployment.logs()
                deployment.stop()
            redis_server.stop()
    print(
        f"  peaks: {sampler.peak_connections} connections ({_where(sampler.connections_at_peak)}), "
        f"{sampler.peak_clients} clients ({_where(sampler.clients_at_peak)}), "
        f"{sampler.peak_memory / 1e6:.1f} MB; {len(outcome['errors'])} errors",
        file=sys.stderr,
    )
    return {
        **outcome,
        "connections": sampler.peak_connections,
        "clients": sampler.peak_clients,
        "memory": sampler.peak_memory,
        "connections_at_peak": sampler.connections_at_peak,
        "clients_at_peak": sampler.clients_at_peak,
        "log_errors": limit_errors(logs),
    }


def _where(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))


def run(services, sizes, workdir):
    database = services.env["DATABASE_URL"].rsplit("/", 1)[1]
    smoke = sizes.load_seconds <= 1
    load = {"users": max(4, sizes.uploaders // 2), "rate": 20.0 if smoke else 100.0,
            "seconds": max(2, sizes.load_seconds * 2), "file_mib": 1 if smoke else 32}  # fmt: skip
    return compare(services.env, database, workdir, **load)


def compare(base_env: dict, database: str, workdir: Path, **load) -> tuple[str, dict]:
    """The baseline's deployment, then S7's, under the same load: the table, and S7's run.

    Needs no more of the bench's services than their environment and a migrated database, so
    that tests/s7/test_plan_limits.py runs it whole (and the bench's smoke run leaves it there).
    """
    runs = [
        ("before: pools as they were (DB 8 per process, Redis unbounded), no limits (baseline)",
         measure(base_env, database, workdir, limits=False, overrides=UNBOUNDED, **load)),
        ("S7: pools from the plan, against CONNECTION LIMIT 20 and maxclients 20",
         measure(base_env, database, workdir, limits=True, overrides={}, **load)),
    ]  # fmt: skip
    rows = []
    for name, result in runs:
        rows.append([
            name, f"{result['connections']} / {PLAN_CONNECTIONS}",
            f"{result['clients']} / {PLAN_CLIENTS}", f"{result['memory'] / 1e6:.1f} / 25",
            f"{result['ready']} of {UPLOADS_AT_ONCE}", result["requests"],
            f"{result['p99']:.0f}", len(result["errors"]) + len(result["log_errors"]),
        ])  # fmt: skip
    text = table(
        ["deployment", "peak Postgres connections", "peak Redis clients",
         "peak Redis used_memory (MB)", "uploads ready", "signing requests", "signing p99 (ms)",
         "errors"],
        rows,
    )  # fmt: skip
    for name, result in runs:
        text += (
            f"\n\n{name.split(':')[0]} — Postgres at its peak: {_where(result['connections_at_peak'])}. "
            f"Redis at its peak: {_where(result['clients_at_peak'])}."
        )
        problems = result["errors"] + result["log_errors"]
        if problems:
            text += " First errors: " + "; ".join(problems[:3])
    text += (
        f"\n\nEach deployment: {WEB_DYNOS} web dynos (gunicorn.conf.py, 2 processes × 4 threads "
        "each) and one worker dyno (`bin/worker`: main worker with beat, image worker), "
        f"under benchmark 4's open loop ({load['rate']:g} signing requests/s over "
        f"{load['users']} users' open uploads, spread over both web dynos, for "
        f"{load['seconds']:g} s) while {UPLOADS_AT_ONCE} uploads ({UPLOADS_AT_ONCE - 2} files "
        f"of {load['file_mib']} MiB, 2 photos; the Python client, polling progress) are sent "
        "and verified. Sampled every 25 ms: `pg_stat_activity` (the stack's own role), "
        "`CLIENT LIST` and `INFO memory` (a redis-server of the run's own)."
    )
    return text, runs[1][1]
