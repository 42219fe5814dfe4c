"""What one client can send the upload API: bodies capped before parsing, JSON only, bounded
lists, every endpoint throttled, and part listings cached for a few seconds."""

import io
import json
import socket
import time
import uuid
from urllib.parse import urlparse

import pytest
from django.test import override_settings

from tests.fixtures.counts import forget_this_runs_counts
from tests.fixtures.uploading import b64_sha256, put_part, sign, start_upload
from uploads.api.limits import BodyTooLarge, LimitedJSONParser
from uploads.storage import multipart

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024


def head_only(live_server, path: str, length: int, token: str) -> tuple[int, dict]:
    """Send a POST's headers declaring ``length`` bytes, no body at all, and read the answer."""
    url = urlparse(live_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.django_db(transaction=True)
def test_a_20_mb_body_gets_a_json_413_before_it_is_sent(live_server, alice):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice).key
    status, body = head_only(live_server, "/api/uploads/", 20 * MiB, token)

    assert status == 413
    assert body["detail"] == (
        "The request body is 20,971,520 bytes; this API accepts at most 1,048,576."
    )


def test_the_site_api_is_capped_too(client):
    response = client.post("/api/items/", data=b"{}", content_type="application/json",
                           CONTENT_LENGTH=str(2 * MiB))  # fmt: skip
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_a_body_without_an_honest_length_is_held_to_the_cap_while_parsed():
    with override_settings(API_MAX_BODY_BYTES=100), pytest.raises(BodyTooLarge):
        LimitedJSONParser().parse(io.BytesIO(b'{"a": "' + b"x" * 200 + b'"}'))


def test_the_upload_api_takes_json_only(alice_api):
    response = alice_api.post(
        "/api/uploads/", {"filename": "a.zip", "size": 10, "purpose": "version_file"}
    )  # multipart, as a form would send it
    assert response.status_code == 415
    assert "detail" in response.json()


def test_lists_carry_their_maximum_length(alice_api):
    upload = start_upload(alice_api, b"PK\x03\x04" + bytes(100))
    parts = [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}] * 101
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/parts/", {"parts": parts}, format="json"
    )
    assert response.status_code == 400
    assert "100" in json.dumps(response.json())

    many = [{"part_number": 1, "etag": "x"}] * 10_001
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/complete/", {"parts": many}, format="json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/uploads/"),
        ("get", "/api/uploads/purposes/"),
        ("get", "/api/uploads/{id}/"),
        ("get", "/api/uploads/{id}/progress/"),
        ("post", "/api/uploads/{id}/progress/"),
        ("post", "/api/uploads/{id}/complete/"),
        ("delete", "/api/uploads/{id}/"),
    ],
)
def test_every_upload_endpoint_is_throttled(alice_api, monkeypatch, method, path):
    from rest_framework.throttling import SimpleRateThrottle

    upload = start_upload(alice_api, b"PK\x03\x04" + bytes(100))
    # DRF reads the rates once, into the class; two calls a minute for every scope.
    rates = {name: "2/min" for name in SimpleRateThrottle.THROTTLE_RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    forget_this_runs_counts()
    url = path.format(id=upload["id"])
    call = getattr(alice_api, method)
    answers = [
        (call(url, {"bytes_uploaded": 1}, format="json") if method == "post" else call(url))
        for _ in range(3)
    ]
    codes = [answer.status_code for answer in answers]
    assert 429 not in codes[:2] and codes[2] == 429, codes
    assert "throttled" in answers[2].json()["detail"].lower()


def test_an_upload_of_many_parts_is_not_listed_on_s3_at_every_get(alice_api, monkeypatch, settings):
    settings.UPLOADS_PARTS_LISTING_TTL = 1
    data = bytes(8 * MiB + 10)
    upload = start_upload(alice_api, data)
    signed = sign(alice_api, upload, data, [1])
    assert put_part(signed[1], data[: 8 * MiB]).status_code == 200

    calls = []
    real = multipart.list_parts
    monkeypatch.setattr(multipart, "list_parts", lambda **kw: calls.append(kw) or real(**kw))
    for _ in range(5):
        parts = alice_api.get(f"/api/uploads/{upload['id']}/").json()["uploaded_parts"]
        assert [part["part_number"] for part in parts] == [1]
    assert len(calls) == 1

    # Signing does not touch the listing (the bytes arrive after it); a listing older than
    # UPLOADS_PARTS_LISTING_TTL is asked for again.
    sign(alice_api, upload, data, [2])
    alice_api.get(f"/api/uploads/{upload['id']}/")
    assert len(calls) == 1
    time.sleep(settings.UPLOADS_PARTS_LISTING_TTL + 0.2)
    alice_api.get(f"/api/uploads/{upload['id']}/")
    assert len(calls) == 2


def test_unknown_uploads_stay_404_whatever_the_limits(charlie_api):
    assert charlie_api.get(f"/api/uploads/{uuid.uuid4()}/").status_code == 404


def test_a_throttle_window_opens_at_the_first_request_and_closes_after_its_period(
    alice_api, monkeypatch
):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"upload_read": "2/s"})
    forget_this_runs_counts()

    def answers():
        return [alice_api.get("/api/uploads/purposes/") for _ in range(3)]

    first = answers()
    assert [a.status_code for a in first] == [200, 200, 429]
    assert 0 < float(first[2]["Retry-After"]) <= 1
    time.sleep(1.1)
    assert [a.status_code for a in answers()] == [200, 200, 429]
