"""The Python client against a live S7 (pytest-django's live server), the test S3 and a worker."""

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from tests.fixtures import ROOT
from tests.fixtures.uploading import wait_for_sha256
from uploads.client import ApiError, S7Client
from uploads.core.models import Upload
from uploads.storage import multipart

MiB = 1024 * 1024
PART = 8 * MiB  # version_file's planned part size

pytestmark = pytest.mark.django_db(transaction=True)


class Interrupted(Exception):
    pass


@pytest.fixture
def token(alice):
    return Token.objects.get_or_create(user=alice)[0].key


def random_file(tmp_path, size, name="map.bin"):
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sha256_hex(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_it_uploads_a_file_in_parallel_parts_and_waits_until_ready(
    live_server, celery_worker, token, tmp_path
):
    path = random_file(tmp_path, 2 * PART + 12345)

    result = S7Client(live_server.url, token, workers=3, progress=False).upload(
        path, purpose="version_file"
    )

    assert result.state == "ready", result.error
    assert result.parts_sent == [1, 2, 3] and result.parts_skipped == []
    assert not result.resumed
    assert result.sign_requests == 1
    assert wait_for_sha256(result.id).sha256 == sha256_hex(path)


def test_it_resumes_an_interrupted_upload_sending_only_the_missing_parts(
    live_server, celery_worker, token, tmp_path
):
    path = random_file(tmp_path, 4 * PART + 999)

    def stop_after_two(part_number):
        if part_number == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        S7Client(live_server.url, token, workers=1, progress=False).upload(
            path, purpose="version_file", on_part_sent=stop_after_two
        )
    upload = Upload.objects.get()
    held_before = {
        part.part_number
        for part in multipart.list_parts(key=upload.key, upload_id=upload.s3_upload_id)
    }
    # The sender thread may already have started part 3 when part 2's hook raised: the run
    # stops within a part, so S3 holds parts 1 and 2, perhaps 3, never all five.
    assert {1, 2} <= held_before <= {1, 2, 3}

    result = S7Client(live_server.url, token, workers=2, progress=False).upload(
        path, purpose="version_file"
    )

    assert result.resumed and result.id == str(upload.pk)
    assert Upload.objects.get(pk=result.id).resumed  # told to the server, for the analytics
    assert result.parts_skipped == sorted(held_before)
    assert result.parts_sent == sorted({1, 2, 3, 4, 5} - held_before)
    assert result.state == "ready", result.error
    assert wait_for_sha256(result.id).sha256 == sha256_hex(path)


def test_it_retries_a_part_the_network_dropped_and_tells_the_server(
    live_server, celery_worker, token, tmp_path, monkeypatch
):
    # Mocked: a connection that drops mid-PUT cannot be made to happen on demand against a
    # local S3, so the first PUT raises what requests raises then; every other PUT is real.
    path = random_file(tmp_path, PART + 1)
    real_put = requests.Session.put
    dropped = []

    def put_dropping_the_first(session, url, *args, **kwargs):
        if not dropped:
            dropped.append(url)
            raise requests.ConnectionError("connection reset by peer")
        return real_put(session, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "put", put_dropping_the_first)

    result = S7Client(live_server.url, token, workers=1, progress=False).upload(
        path, purpose="version_file"
    )

    assert result.state == "ready", result.error
    assert dropped and result.parts_retried == 1
    stored = Upload.objects.get(pk=result.id)
    assert (stored.parts_retried, stored.resumed) == (1, False)


def test_it_waits_out_an_outage_longer_than_its_retries_and_resends_only_the_parts_in_flight(
    live_server, celery_worker, token, tmp_path, monkeypatch
):
    # Mocked: the machine's own connection cannot be cut on demand here, so while the outage
    # lasts every request (to the site and to S3) raises what requests raises then.
    path = random_file(tmp_path, 6 * PART)
    real_request = requests.Session.request
    outage = threading.Event()
    puts = []

    def request_through_the_outage(session, method, url, *args, **kwargs):
        if method == "PUT":
            puts.append((int(parse_qs(urlparse(url).query)["partNumber"][0]), outage.is_set()))
        if outage.is_set():
            raise requests.ConnectionError("network is unreachable")
        return real_request(session, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request_through_the_outage)

    def cut_after_the_first_part(part_number):
        if part_number == 1:
            outage.set()
            threading.Timer(4.0, outage.clear).start()  # far longer than the retries take

    client = S7Client(live_server.url, token, workers=2, retries=1, backoff=0.01, progress=False)
    result = client.upload(path, purpose="version_file", on_part_sent=cut_after_the_first_part)

    assert result.state == "ready", result.error
    sent_during_outage = {number for number, cut in puts if cut}
    sent = [number for number, _ in puts]
    # Only the parts already on their way when the connection went are sent more than once:
    # the others waited for a sender.
    assert 1 <= len(sent_during_outage) <= 2
    assert {n for n in set(sent) if sent.count(n) > 1} == sent_during_outage
    assert all(sent.count(n) == 2 for n in sent_during_outage)
    assert wait_for_sha256(result.id).sha256 == sha256_hex(path)


def test_it_sends_again_a_held_part_whose_content_is_not_the_files_any_more(
    live_server, celery_worker, token, tmp_path
):
    path = random_file(tmp_path, 3 * PART + 10)

    def stop_after_two(part_number):
        if part_number == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        S7Client(live_server.url, token, workers=1, progress=False).upload(
            path, purpose="version_file", on_part_sent=stop_after_two
        )
    stale = Upload.objects.get()
    # The same file but for other bytes in part 2: part 1 proves the upload is this file's, and
    # S3's copy of part 2 may not be kept.
    with open(path, "r+b") as f:
        f.seek(PART)
        f.write(b"changed")

    result = S7Client(live_server.url, token, workers=2, progress=False).upload(
        path, purpose="version_file"
    )

    # SeaweedFS lists a part sent twice twice, so the server cannot complete the resumed
    # upload; the client then starts afresh. Either way part 2 is never taken from S3's copy.
    assert 2 not in result.parts_skipped
    assert result.state == "ready", result.error
    assert wait_for_sha256(result.id).sha256 == sha256_hex(path)
    stale.refresh_from_db()
    assert str(stale.pk) == result.id or stale.state == "aborted"


def test_another_file_of_the_same_name_and_size_starts_afresh(
    live_server, celery_worker, token, tmp_path
):
    path = random_file(tmp_path, 2 * PART + 10)

    def stop_after_first(part_number):
        raise Interrupted

    with pytest.raises(Interrupted):
        S7Client(live_server.url, token, workers=1, progress=False).upload(
            path, purpose="version_file", on_part_sent=stop_after_first
        )
    other = Upload.objects.get()
    # Same name and size, other bytes where S3 holds a part: nothing proves the open upload
    # is this file's, so it is left as it is (as the browser leaves it).
    with open(path, "r+b") as f:
        f.write(b"changed")

    result = S7Client(live_server.url, token, workers=2, progress=False).upload(
        path, purpose="version_file"
    )

    assert not result.resumed and result.id != str(other.pk)
    assert result.parts_skipped == [] and result.state == "ready", result.error
    other.refresh_from_db()
    assert other.state == "uploading"


def test_it_signs_again_parts_whose_urls_would_expire_before_they_are_sent(
    live_server, celery_worker, token, tmp_path, settings
):
    # URLs that live less than the client's safety margin are re-signed right before each PUT.
    settings.UPLOADS_PART_URL_EXPIRES = 30
    path = random_file(tmp_path, PART + 1)

    result = S7Client(live_server.url, token, workers=1, progress=False).upload(
        path, purpose="version_file"
    )

    assert result.state == "ready", result.error
    assert result.sign_requests == 3


def test_it_asks_whether_the_upload_is_ready_as_often_as_the_server_says(
    live_server, celery_worker, token, tmp_path, settings, monkeypatch
):
    settings.UPLOADS_STATUS_POLL_DELAYS = [0.05, 0.07]
    real_sleep = time.sleep
    waits = []
    caller = threading.current_thread()  # the one that follows the upload once it is sent

    def recorded_sleep(seconds):
        if threading.current_thread() is caller:
            waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recorded_sleep)
    path = random_file(tmp_path, PART + 1)

    result = S7Client(live_server.url, token, workers=1, progress=False).upload(
        path, purpose="version_file"
    )

    # Completion answers while the upload is still completing: at least one wait.
    assert result.state == "ready", result.error
    assert waits[0] == 0.05 and set(waits[1:]) <= {0.07}


def test_it_names_the_problem_when_the_token_is_wrong(live_server, tmp_path):
    path = random_file(tmp_path, 100)

    with pytest.raises(ApiError) as error:
        S7Client(live_server.url, "not-a-token", progress=False).upload(
            path, purpose="version_file"
        )

    assert error.value.status == 401
    assert "Invalid token" in str(error.value)


def test_its_command_line_uploads_a_file(live_server, celery_worker, token, tmp_path):
    path = random_file(tmp_path, 1000, name="tool.bin")

    finished = subprocess.run(
        [
            sys.executable, "-m", "uploads.client", "upload", str(path),
            "--purpose", "version_file", "--url", live_server.url, "--token", token, "--json",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout)
    assert result["state"] == "ready"
    assert wait_for_sha256(result["id"]).sha256 == sha256_hex(path)


# --- python manage.py test_upload_performance ------------------------------------------------


def test_the_performance_command_uploads_through_a_live_server(live_server, celery_worker, alice):
    out = io.StringIO()

    call_command(
        "test_upload_performance", "--file-size", "1.5", "--username", "alice",
        "--url", live_server.url, "--runs", "2", stdout=out,
    )  # fmt: skip

    report = out.getvalue()
    for line in ("upload time", "throughput", "time to ready", "web time", "peak memory"):
        assert line in report
    assert report.count("result          ready") == 2
    assert "completion rate 2/2 (100 %)" in report
    assert "timeouts        0" in report
    assert Upload.objects.filter(owner=alice, state="ready").count() == 2


def test_the_performance_command_names_an_unknown_user(live_server):
    with pytest.raises(CommandError, match="No user named “nobody”"):
        call_command("test_upload_performance", "--file-size", "1", "--username", "nobody",
                     "--url", live_server.url)  # fmt: skip


def test_the_performance_command_says_when_no_server_is_running(alice):
    with pytest.raises(CommandError, match="No S7 server answers at http://127.0.0.1:9"):
        call_command("test_upload_performance", "--file-size", "1", "--username", "alice",
                     "--url", "http://127.0.0.1:9")  # fmt: skip
