"""Real services stopped mid-flow: what the API answers meanwhile, and that the same upload
finishes once they are back.

Each test has services of its own (S3, Postgres) to stop and start, a gunicorn web server
(gunicorn.conf.py) and a Celery worker pointed at them, and talks HTTP like any client.
"""

import os
import signal
import threading
import time
import uuid
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from celery_worker import app
from tests.fixtures.servers import PrivatePostgres, RestartableS3, WebServer, manage
from tests.fixtures.uploading import b64_md5, b64_sha256, wait_for_state
from tests.fixtures.worker import Worker
from uploads.core.models import Upload
from uploads.tasknames import SWEEP_STUCK_UPLOADS
from uploads.worker.sweeps import uploads_expire_stale

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


class Client:
    def __init__(self, base_url, token):
        self.base = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"

    def api(self, method, path, **kwargs):
        return self.http.request(method, f"{self.base}/api/uploads/{path}", timeout=60, **kwargs)

    def create(self, data, filename="Big Map.sceA"):
        return self.api(
            "POST", "", json={"filename": filename, "size": len(data), "purpose": "version_file"}
        )

    def send(self, upload, data):
        size = upload["part_size"]
        parts = [data[i : i + size] for i in range(0, len(data), size)]
        signed = self.api(
            "POST",
            f"{upload['id']}/parts/",
            json={
                "parts": [
                    {"part_number": n, "checksum_sha256": b64_sha256(p), "content_md5": b64_md5(p)}
                    for n, p in enumerate(parts, 1)
                ]
            },
        )
        assert signed.status_code == 200, signed.text
        for part, body in zip(signed.json()["parts"], parts, strict=True):
            response = requests.put(part["url"], data=body, headers=part["headers"], timeout=60)
            assert response.status_code == 200, response.text


@pytest.fixture
def private_s3(tmp_path, settings):
    server = RestartableS3(tmp_path / "s3")
    server.start()
    settings.AWS_S3_ENDPOINT_URL = server.endpoint_url
    call_command("s3_setup", wait=30, stdout=StringIO())
    yield server
    server.stop()


def test_with_s3_down_the_api_answers_503_and_the_upload_finishes_when_it_returns(
    private_s3, alice, tmp_path
):
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    services = {"AWS_S3_ENDPOINT_URL": private_s3.endpoint_url, "CELERY_QUEUE": queue}
    web = WebServer(tmp_path / "web.log", **services)
    worker = None
    try:
        client = Client(web.url, Token.objects.create(user=alice).key)
        data = os.urandom(6 * MiB)
        created = client.create(data)
        assert created.status_code == 201, created.text
        upload = created.json()

        private_s3.stop()
        refused = client.create(data, filename="second.sceA")
        assert refused.status_code == 503
        assert "Storage is unavailable right now" in refused.json()["detail"]
        assert refused.headers["Content-Type"] == "application/json"
        complete = client.api("POST", f"{upload['id']}/complete/", json={})
        assert complete.status_code == 503
        assert "try again" in complete.json()["detail"]
        assert Upload.objects.get(pk=upload["id"]).state == "uploading"
        assert Upload.objects.count() == 1  # the refused create left no row

        private_s3.start()
        client.send(upload, data)
        assert client.api("POST", f"{upload['id']}/complete/", json={}).status_code == 202

        # S3 goes away again before the worker completes the object: its task retries with
        # backoff while the upload stays completing, and finishes once S3 is back.
        private_s3.stop()
        worker = Worker(tmp_path / "worker.log", queue, **services)
        wait_for_log(worker, "Retry in")
        assert Upload.objects.get(pk=upload["id"]).state == "completing"
        private_s3.start()
        done = wait_for_state(upload["id"], {"ready", "failed"}, timeout=120)
        assert done.state == "ready", done.error
        assert client.api("GET", f"{upload['id']}/").json()["state"] == "ready"
    finally:
        web.stop()
        if worker is not None:
            worker.stop()


def wait_for_log(worker, words, timeout=60):
    deadline = time.monotonic() + timeout
    while words not in worker.log:
        assert time.monotonic() < deadline, worker.log[-3000:]
        time.sleep(0.2)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    server.create_database()
    yield server
    server.destroy()


def test_with_postgres_restarted_mid_upload_requests_answer_503_and_the_upload_finishes(
    private_postgres, tmp_path
):
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    services = {
        "DATABASE_URL": private_postgres.url,
        "CELERY_QUEUE": queue,
        # A request waits this long for a connection before answering 503.
        "DATABASE_POOL_TIMEOUT": "2",
    }
    manage("migrate", "--noinput", env=services)
    token = manage(
        "shell", "-c",
        "from items.models import User; from rest_framework.authtoken.models import Token; "
        "user = User.objects.create_user('alice', 'alice@example.org', 'alice-password-7'); "
        "print(Token.objects.create(user=user).key)",
        env=services,
    ).strip().splitlines()[-1]  # fmt: skip
    web = WebServer(tmp_path / "web.log", **services)
    worker = Worker(tmp_path / "worker.log", queue, **services)
    try:
        client = Client(web.url, token)
        data = os.urandom(6 * MiB)
        created = client.create(data)
        assert created.status_code == 201, created.text
        upload = created.json()
        client.send(upload, data)

        private_postgres.stop()
        for method, path in [("GET", f"{upload['id']}/"), ("POST", f"{upload['id']}/complete/")]:
            answer = client.api(method, path, json={} if method == "POST" else None)
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"] == (
                "The database is unavailable right now; try again shortly."
            )
            assert answer.headers["Retry-After"]
        health = requests.get(f"{web.url}/healthz", timeout=30)
        assert (health.status_code, health.json()["unreachable"]) == (503, ["database"])

        private_postgres.start()
        statuses = []
        deadline = time.monotonic() + 30
        while not statuses or statuses[-1] == 503:
            assert time.monotonic() < deadline, statuses
            statuses.append(client.api("POST", f"{upload['id']}/complete/", json={}).status_code)
        # A pooled connection that died with the old server may fail one more request, cleanly.
        assert set(statuses[:-1]) <= {503} and statuses[-1] == 202, statuses

        deadline = time.monotonic() + 90
        while (state := client.api("GET", f"{upload['id']}/").json()["state"]) != "ready":
            assert state in ("completing", "processing"), state
            assert time.monotonic() < deadline, worker.log[-3000:]
            time.sleep(0.5)
        assert "Internal Server Error" not in web.log
    finally:
        web.stop()
        worker.stop()


def test_gunicorn_sent_sigterm_finishes_requests_in_flight_and_leaves_uploads_recoverable(
    alice, tmp_path
):
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    web = WebServer(
        tmp_path / "web.log",
        DJANGO_SETTINGS_MODULE="tests.fixtures.failing_site",
        CELERY_QUEUE=queue,
    )
    client = Client(web.url, Token.objects.create(user=alice).key)
    slow_answers, upload_errors = [], []
    stop = threading.Event()

    def slow_request():
        slow_answers.append(requests.get(f"{web.url}/slow/?seconds=4", timeout=60))

    def upload_until_refused(n):
        data = os.urandom(64 * 1024)
        while not stop.is_set():
            try:
                created = client.create(data, filename=f"map-{n}.sceA")
                if created.status_code >= 500:
                    upload_errors.append(created.status_code)
                if created.status_code != 201:  # throttled (429) is an answer too
                    time.sleep(0.2)
                    continue
                client.send(created.json(), data)
                client.api("POST", f"{created.json()['id']}/complete/", json={})
            except (requests.ConnectionError, AssertionError):
                return  # the server is gone: a request refused, never a half answer

    threads = [threading.Thread(target=slow_request)] + [
        threading.Thread(target=upload_until_refused, args=(n,)) for n in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    signalled = time.monotonic()
    os.killpg(web.process.pid, signal.SIGTERM)  # as Heroku signals every process of a dyno
    try:
        web.process.wait(timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        web.stop()
    stopped_after = time.monotonic() - signalled

    assert [(a.status_code, a.text) for a in slow_answers] == [(200, "finished")]
    assert web.process.returncode == 0, web.log[-3000:]
    assert stopped_after < 20  # gunicorn.conf.py's graceful timeout, under Heroku's 30 s
    assert upload_errors == [] and "Internal Server Error" not in web.log

    # Whatever the signal interrupted is somewhere the sweeps take it from: completing uploads
    # are processed (their tasks are queued, or the stuck sweep re-enqueues them), unfinished
    # ones expire.
    uploads = list(Upload.objects.all())
    assert uploads and {u.state for u in uploads} <= {"uploading", "completing"}
    worker = Worker(tmp_path / "worker.log", queue, UPLOADS_STUCK_COMPLETING_AFTER=0)
    try:
        # Beat's sweep, run now by the worker: it re-enqueues any completing upload whose task
        # never reached the broker (enqueued after the commit, as the process was stopping).
        app.send_task(SWEEP_STUCK_UPLOADS, queue=queue)
        for upload in uploads:
            if upload.state == "completing":
                assert wait_for_state(upload.pk, {"ready", "failed"}).state == "ready"
        Upload.objects.filter(state="uploading").update(expires_at=timezone.now())
        uploads_expire_stale()
        assert set(Upload.objects.values_list("state", flat=True)) <= {"ready", "expired"}
    finally:
        worker.stop()
