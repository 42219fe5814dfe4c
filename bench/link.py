"""A shaped network link for the browser benchmark: real TCP over a real delay and rate limit.

The browser runs in a network namespace of its own whose only way out is a pair of TUN devices
joined by a delay line (this module, run as a process: ``python -m bench.link NAME DELAY_MS``).
Every IP packet crossing the link waits half the round trip each way, and the kernel's token
bucket (``tc tbf``) on the namespace's side caps the upload rate, so the browser's TCP meets
the link as it would meet a distant home line: its congestion window grows over real round
trips, its ACKs come back late, and the bottleneck queues. (``netem`` would do the delay in the
kernel; this machine's kernel has no netem, and Chromium's DevTools emulation adds latency per
request, not per round trip, so TCP never feels it.)

The namespace keeps the addresses the page already uses: 127.0.0.1 is routed over the link
(``route_localnet`` on the link's two devices only), so the web server and S3 answer on
loopback as always and the signed URLs need no change.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# Larger than a real path's 1,500 bytes: at 428 Mbit/s Python forwards ~6,000 packets a second
# of 9,000 bytes with little CPU; at 1,500 it would take a core the benchmark measures.
MTU = 9000
BROWSER_ADDRESS = "10.213.0.2"
HOST_ADDRESS = "10.213.0.1"


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def delay_line(browser_tun: str, host_tun: str, one_way_seconds: float) -> None:
    """Forwards packets between the two devices, each after ``one_way_seconds``.

    The delay is the same for every packet, so each direction is a FIFO and order is kept.
    """
    fds = {_open_tun(browser_tun): None, _open_tun(host_tun): None}
    browser_fd, host_fd = fds
    peer = {browser_fd: host_fd, host_fd: browser_fd}
    queues = {browser_fd: deque(), host_fd: deque()}  # packets read from that fd, to the peer
    poller = select.epoll()
    for fd in fds:
        poller.register(fd, select.EPOLLIN)
    print("ready", flush=True)
    clock = time.monotonic
    while True:
        now = clock()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        for fd, _ in poller.poll(timeout):
            queue = queues[fd]
            arrived = clock() + one_way_seconds
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                queue.append((arrived, packet))
        now = clock()
        for fd, queue in queues.items():
            out = peer[fd]
            while queue and queue[0][0] <= now:
                try:
                    os.write(out, queue.popleft()[1])
                except OSError:
                    pass  # the kernel refused the packet (a full queue): a loss, as on a line


def _ip(*args: str, netns: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    subprocess.run([*prefix, *args], check=True, capture_output=True)


class ShapedLink:
    """A namespace whose traffic to 127.0.0.1 crosses a link of ``mbit`` up and ``rtt_ms``.

    ``browser_wrapper`` is an executable that runs Chromium inside the namespace.
    """

    def __init__(self, mbit: float, rtt_ms: float, workdir: Path):
        self.mbit = mbit
        self.rtt_ms = rtt_ms
        self.name = f"s7link{os.getpid()}"
        self.browser_tun = f"s7b{os.getpid()}"[:15]
        self.host_tun = f"s7h{os.getpid()}"[:15]
        self.workdir = workdir
        self.process = None

    @staticmethod
    def available() -> str | None:
        """Why a shaped link cannot be made here, or None when it can."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        if not Path("/dev/net/tun").exists():
            return "no /dev/net/tun"
        return None

    def __enter__(self) -> ShapedLink:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.link", self.browser_tun, self.host_tun,
             str(self.rtt_ms / 2000)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the delay line did not start")
        try:
            self._configure()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _configure(self) -> None:
        ns, b, h = self.name, self.browser_tun, self.host_tun
        _ip("ip", "netns", "add", ns)
        _ip("ip", "link", "set", b, "netns", ns)
        # The browser's side: 127.0.0.1 leaves through the link (loopback stays down).
        _ip("sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1", netns=ns)
        _ip("sysctl", "-qw", f"net.ipv4.conf.{b}.route_localnet=1", netns=ns)
        _ip("sysctl", "-qw", f"net.ipv4.conf.{b}.rp_filter=0", netns=ns)
        _ip("ip", "link", "set", b, "mtu", str(MTU), "up", netns=ns)
        _ip("ip", "addr", "add", BROWSER_ADDRESS, "peer", HOST_ADDRESS, "dev", b, netns=ns)
        _ip("ip", "route", "add", "127.0.0.1/32", "dev", b, "src", BROWSER_ADDRESS, netns=ns)
        # The bottleneck: the upload rate, with a queue of 50 ms as a home router keeps.
        _ip("tc", "qdisc", "add", "dev", b, "root", "tbf", "rate", f"{self.mbit}mbit",
            "burst", str(max(64 * 1024, int(self.mbit * 1e6 / 8 / 250))), "latency", "50ms",
            netns=ns)  # fmt: skip
        # The host's side: packets for 127.0.0.1 arrive on this device, answers leave by it.
        _ip("sysctl", "-qw", f"net.ipv4.conf.{h}.route_localnet=1")
        _ip("sysctl", "-qw", f"net.ipv4.conf.{h}.rp_filter=0")
        _ip("ip", "link", "set", h, "mtu", str(MTU), "up")
        _ip("ip", "addr", "add", HOST_ADDRESS, "peer", BROWSER_ADDRESS, "dev", h)

    def wrapper(self, executable: str) -> Path:
        """A script that runs ``executable`` inside the namespace (Playwright's executable)."""
        path = self.workdir / f"{self.name}-{Path(executable).name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {executable} "$@"\n')
        path.chmod(0o755)
        return path

    def __exit__(self, *exc) -> None:
        # The delay line's descriptors close with it, and the devices go with them.
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


if __name__ == "__main__":
    delay_line(sys.argv[1], sys.argv[2], float(sys.argv[3]))
