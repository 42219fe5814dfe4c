"""The local S3's start when its port is taken between the pick and SeaweedFS binding it, as
parallel test runs starting their servers at once do.

The race itself cannot be timed from here, so the port pick is patched to hand out a port a
real HTTP server (another S3, as far as a client can tell) already listens on.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

import pytest

from devtools import seaweedfs
from devtools.seaweedfs import LocalS3, PortTaken


class AnotherServer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def taken_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AnotherServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_picked_s3_port_another_server_holds_is_picked_again(taken_port, tmp_path, monkeypatch):
    real_free_port = seaweedfs.free_port
    picks = iter([taken_port])
    monkeypatch.setattr(seaweedfs, "free_port", lambda: next(picks, None) or real_free_port())
    server = LocalS3(
        data_dir=tmp_path, access_key="a", secret_key="b", s3_port=0, spread_ports=True
    )

    process = server.start()
    try:
        assert server.s3_port != taken_port
        assert not seaweedfs._listening_elsewhere(process.pid, server.s3_port)
        with pytest.raises(Exception) as answer:  # SigV4 is required: an anonymous list is 403
            urlopen(f"{server.endpoint_url}/", timeout=5)
        assert getattr(answer.value, "code", None) == 403
    finally:
        seaweedfs.discard(process)


def test_a_port_the_caller_chose_is_not_changed_and_its_loss_is_said(taken_port, tmp_path):
    server = LocalS3(
        data_dir=tmp_path, access_key="a", secret_key="b", s3_port=taken_port, spread_ports=True
    )

    with pytest.raises(PortTaken):
        server.start(attempts=2)
    assert server.s3_port == taken_port
