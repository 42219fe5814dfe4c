"""Benchmark 10: how fast the API refuses a body it will not read, against gunicorn with S7's
production config.

A client streams a 20 MB JSON body to ``POST /api/uploads/``; the clock runs from its first
byte to the answer's status line, and the bytes sent by then are counted. The baseline, in the
same run, is the same client sending a valid body (some 70 bytes) to the same URL (which creates an
upload, so its time includes S3's CreateMultipartUpload).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlparse

from bench.common import MiB, bench_user, median, ratio, table

BIG = 20 * 1000 * 1000


def post_streaming(url: str, token: str, body_size: int, body: bytes | None = None) -> dict:
    """Headers, then the body in 64 kB writes from another thread; returns when the status
    line arrives: {"seconds", "status", "sent", "json"}."""
    target = urlparse(url)
    sock = socket.create_connection((target.hostname, target.port), timeout=30)
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {body_size}\r\nConnection: close\r\n\r\n"
    ).encode()
    sent = [0]
    payload = body if body is not None else b" " * body_size

    def send():
        try:
            for start in range(0, len(payload), 65536):
                sock.sendall(payload[start : start + 65536])
                sent[0] = start + len(payload[start : start + 65536])
        except OSError:
            pass  # the server answered and closed: the rest is never needed

    started = time.perf_counter()
    sock.sendall(head)
    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    answer = b""
    while b"\r\n" not in answer:
        answer += sock.recv(65536)
    seconds = time.perf_counter() - started
    sent_then = sent[0]
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    sock.close()
    writer.join(timeout=10)
    head_part, _, body_part = answer.partition(b"\r\n\r\n")
    if b"chunked" in head_part.lower():
        body_part = body_part.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return {
        "seconds": seconds,
        "status": int(answer.split()[1]),
        "sent": sent_then,
        "json": json.loads(body_part or b"{}"),
    }


def run(services, sizes, workdir):
    _, token = bench_user("bench-limits")
    url = f"{services.web.url}/api/uploads/"
    valid = json.dumps({"filename": "map.zip", "size": 1000, "purpose": "version_file"}).encode()
    repeat = max(3, sizes.repeat * 3)
    refused = [post_streaming(url, token, BIG) for _ in range(repeat)]
    created = [post_streaming(url, token, len(valid), valid) for _ in range(repeat)]
    assert all(r["status"] == 413 for r in refused), refused[0]
    assert all(r["status"] == 201 for r in created), created[0]
    refused_time = median([r["seconds"] for r in refused])
    created_time = median([r["seconds"] for r in created])
    text = table(
        ["request", "answer", "time to the status line (ms, median)", "body bytes sent by then",
         "vs baseline"],
        [
            ["a valid create (baseline)", "201", f"{created_time * 1000:.1f}",
             f"{len(valid):,} (all)", "1.00×"],
            [f"a {BIG / 1e6:.0f} MB body", "413 JSON", f"{refused_time * 1000:.1f}",
             f"{median([r['sent'] for r in refused]):,.0f} of {BIG:,}", ratio(refused_time, created_time)],
        ],
    )  # fmt: skip
    text += (
        f"\n\nThe 413's body: `{json.dumps(refused[0]['json'])}`. {repeat} requests each, one "
        f"connection per request. The cap is {services.env.get('API_MAX_BODY_BYTES', str(MiB))} "
        "bytes (API_MAX_BODY_BYTES)."
    )
    return text, {"refused_seconds": refused_time}
