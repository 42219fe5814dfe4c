"""Runs the processes of a Procfile together in the foreground, for ``make run``.

    python -m s7.supervise Procfile.dev

Each process gets a process group of its own, so that the terminal's Ctrl-C reaches only this
supervisor, which then stops every process the same way: SIGTERM, a few seconds' grace, then
SIGKILL for whatever is left in its group, children of children included. Output is read from pipes and
written with each process's name; when nobody reads it any more (``make run | tee run.log``
whose tee died at the same Ctrl-C), it is dropped and the shutdown still runs to the end.
When any process ends, the others are stopped too.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Most processes stop in a few seconds (SeaweedFS's volume server is the slowest); whatever is
# still there after the grace is killed, so that Ctrl-C always ends everything within 10 s.
GRACE_SECONDS = float(os.environ.get("S7_SUPERVISE_GRACE", "6"))
_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


@dataclass
class Child:
    name: str
    command: str
    process: subprocess.Popen | None = None
    buffer: bytes = field(default=b"")

    def group_alive(self) -> bool:
        """Whether any process of its group is left (the leader may be gone before its
        children). Zombies do not count: where nothing reaps orphans promptly (a container's
        first process), they would hold a group that has nothing left running."""
        self.process.poll()
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _group_has_live_process(self.process.pid)

    def signal_leader(self, sig: int) -> None:
        if self.process.poll() is None:
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                pass

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def read_procfile(path: Path) -> list[Child]:
    children = []
    for line in path.read_text().splitlines():
        match = _LINE.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            children.append(Child(name=match.group(1), command=match.group(2)))
    return children


class Output:
    """Writes to our stdout until it breaks, then stays quiet: a reader that went away must
    never stop a shutdown half-way."""

    def __init__(self):
        self.broken = False

    def write(self, text: str) -> None:
        if self.broken:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            self.broken = True
            # Python raises again when it flushes stdout at exit: point it at /dev/null.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError:
                pass


def supervise(children: list[Child], output: Output) -> int:
    stop_requests = []

    def request_stop(signum, frame):
        stop_requests.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)

    # Children's output reaches us through pipes: unbuffered, so lines come when written.
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    width = max(len(child.name) for child in children)
    selector = selectors.DefaultSelector()
    for child in children:
        child.process = subprocess.Popen(
            ["/bin/sh", "-c", child.command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        selector.register(child.process.stdout, selectors.EVENT_READ, child)
        output.write(f"{child.name:<{width}} | started (pid {child.process.pid})\n")

    def pump(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            child = key.data
            chunk = os.read(key.fileobj.fileno(), 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            child.buffer += chunk
            *lines, child.buffer = child.buffer.split(b"\n")
            for line in lines:
                output.write(f"{child.name:<{width}} | {line.decode(errors='replace')}\n")

    ended = None
    while not stop_requests and ended is None:
        pump(0.2)
        ended = next((child for child in children if child.process.poll() is not None), None)
    if ended is not None and not stop_requests:
        output.write(f"{ended.name} ended (exit {ended.process.returncode}); stopping the rest\n")
    else:
        output.write("stopping (Ctrl-C again kills at once)\n")

    stop_count = len(stop_requests)
    # SIGTERM to each process itself, not its group: a Celery worker whose pool children are
    # signalled with it hangs in the pool's shutdown. What a process leaves behind when it
    # ends (a shell's unfinished command) is signalled next, and anything still there at the
    # deadline is killed.
    for child in children:
        child.signal_leader(signal.SIGTERM)
    orphans_signalled = set()
    deadline = time.monotonic() + GRACE_SECONDS
    while any(child.group_alive() for child in children):
        for child in children:
            if child.process.poll() is not None and child.name not in orphans_signalled:
                orphans_signalled.add(child.name)
                child.signal_group(signal.SIGTERM)
        if time.monotonic() > deadline or len(stop_requests) > stop_count:
            for child in children:
                if child.group_alive():
                    output.write(f"{child.name:<{width}} | killed\n")
                    child.signal_group(signal.SIGKILL)
            break
        if selector.get_map():
            pump(0.1)
        else:
            time.sleep(0.1)
    for child in children:
        child.process.wait()
    deadline = time.monotonic() + 2
    while any(child.group_alive() for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    output.write("stopped\n")
    if stop_requests:
        return 128 + stop_requests[0]
    return ended.process.returncode or 1


def _group_has_live_process(group: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # no way to tell zombies apart here: the group counts as alive
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m s7.supervise PROCFILE", file=sys.stderr)
        return 2
    children = read_procfile(Path(argv[0]))
    if not children:
        print(f"{argv[0]} names no process", file=sys.stderr)
        return 2
    return supervise(children, Output())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
