"""`make run` in a terminal, then Ctrl-C: every process it started is gone within 10 s, also
when its output is piped to tee (which dies at the same Ctrl-C).

Driven through a real pseudo-terminal, so that Ctrl-C is the terminal's SIGINT to the
foreground process group, as a person's keyboard sends it. Each run uses ports and a data
directory of its own, so it never meets a developer's `make run` (8000, 8333, var/).
"""

import os
import pty
import signal
import socket
import threading
import time

import pytest
import requests

from devtools.seaweedfs import free_port
from tests.fixtures import ROOT

STOP_WITHIN_SECONDS = 10
STRIPPED = ("AWS_", "DATABASE", "REDIS", "S7_", "CELERY", "CACHE", "DJANGO_", "MAKE", "MFLAGS")


def session_processes(session_id: int) -> dict[int, str]:
    """Live processes of the terminal's session, by pid, with their command lines. Zombies
    (ended, waiting for a parent to read their status) hold nothing and are left out."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            found[int(entry)] = command
    return found


class Terminal:
    """A command in a pseudo-terminal of its own, its screen read all along (a full terminal
    buffer would block the processes writing to it)."""

    def __init__(self, command: str, env: dict):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a session leader whose controlling terminal is the pty
            os.chdir(ROOT)
            os.execve("/bin/bash", ["bash", "-c", command], env)
        self.screen = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.screen += chunk

    def press_ctrl_c(self):
        os.write(self.fd, b"\x03")

    def reap(self):
        try:
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass

    def kill_everything(self):
        for pid in session_processes(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reap()
        os.close(self.fd)


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.long(16)
@pytest.mark.parametrize("piped", [False, True], ids=["plain", "piped-to-tee"])
def test_ctrl_c_stops_make_run_and_leaves_no_process_behind(piped, tmp_path):
    web_port, s3_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED)}
    env.update(
        PORT=str(web_port),
        SITE_URL=f"http://127.0.0.1:{web_port}",
        AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}",
        S7_VAR_DIR=str(tmp_path / "var"),
        TERM="xterm",
    )
    log = tmp_path / "run.log"
    command = f"make run 2>&1 | tee {log}" if piped else "make run"
    terminal = Terminal(command, env)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert time.monotonic() < deadline, terminal.screen.decode(errors="replace")[-4000:]
            try:
                web_ready = requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=5).ok
            except requests.ConnectionError:
                web_ready = False
            if web_ready and b" ready." in terminal.screen:  # the worker too
                break
            time.sleep(0.5)
        running = session_processes(terminal.pid)
        commands = " ".join(running.values())
        for part in ("make run", "s7.supervise", "weed mini", "celery", "runserver"):
            assert part in commands, running
        if piped:
            assert "tee" in commands

        terminal.press_ctrl_c()
        pressed = time.monotonic()
        while session_processes(terminal.pid) and time.monotonic() - pressed < 30:
            terminal.reap()
            time.sleep(0.1)
        took = time.monotonic() - pressed
        print(f"\nmake run {'| tee ' if piped else ''}stopped {took:.1f} s after Ctrl-C")

        left = session_processes(terminal.pid)
        assert not left, f"still running {took:.0f} s after Ctrl-C: {left}"
        assert took < STOP_WITHIN_SECONDS
        assert not port_is_open(web_port) and not port_is_open(s3_port)
        if piped:
            assert "S7 on http://127.0.0.1" in log.read_text()
        else:
            assert b"stopping" in terminal.screen
    finally:
        terminal.kill_everything()
