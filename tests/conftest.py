"""The test session's real services: SeaweedFS (started here), Postgres and Redis (the
machine's, isolated by run id, see tests/settings.py), and a Celery worker for tests that need
one. Users: alice owns things, bob is another user, charlie is a stranger."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from devtools.seaweedfs import LocalS3, discard
from tests.fixtures import ROOT
from tests.fixtures.discord import StandInDiscord
from tests.fixtures.environment import child_environment
from uploads.tasknames import PROCESS_UPLOAD


def pytest_collection_modifyitems(config, items):
    """Long tests start first, spread over a parallel run's processes: the longest first, each
    to the process whose share is shortest so far. xdist's worksteal hands each process a
    contiguous slice of the collection and lets the others steal only from a slice's end, so
    long tests that fall into one slice would run one after another while the run waits."""
    processes = getattr(config, "workerinput", {}).get("workercount")
    if not processes:
        return

    def seconds(item):
        marker = item.get_closest_marker("long")
        return marker.args[0] if marker else 0

    shares = [[] for _ in range(processes)]
    for item in sorted(filter(seconds, items), key=seconds, reverse=True):
        min(shares, key=lambda share: sum(map(seconds, share))).append(item)
    rest = [item for item in items if not seconds(item)]
    ordered, remaining = [], len(items)
    for k, share in enumerate(shares):
        size = remaining // (processes - k)  # the slice xdist hands the k-th process
        remaining -= size
        filler = max(0, size - len(share))
        ordered += share + rest[:filler]
        rest = rest[filler:]
    items[:] = ordered + rest


@pytest.fixture(scope="session", autouse=True)
def local_s3(tmp_path_factory):
    server = LocalS3(
        data_dir=tmp_path_factory.mktemp("seaweedfs"),
        access_key=settings.AWS_ACCESS_KEY_ID,
        secret_key=settings.AWS_SECRET_ACCESS_KEY,
        s3_port=0,
        spread_ports=True,
    )
    process = server.start()
    settings.AWS_S3_ENDPOINT_URL = server.endpoint_url
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    call_command("s3_setup", wait=30, stdout=open(os.devnull, "w"))
    yield server
    discard(process)


@pytest.fixture(scope="session", autouse=True)
def drop_stray_database_sessions(django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end of the run.

    Request threads of the live server that a browser kept alive can still hold pooled
    connections when the session ends, and Postgres refuses to drop a database in use.
    """
    from django.db import connection

    test_database = connection.settings_dict["NAME"]
    yield
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [test_database],
        )


@pytest.fixture(scope="session")
def discord():
    """The stand-in for Discord's API that the session's worker announces to."""
    stand_in = StandInDiscord()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def celery_worker(local_s3, discord, django_db_setup, django_db_blocker):
    """A real Celery worker process on this run's queue, against the test database (the real
    app with the tests' stall hook, see tests/fixtures/worker_app.py)."""
    log_path = Path(local_s3.data_dir) / "celery.log"
    env = child_environment({**discord.env(), "CELERY_IMAGE_QUEUE": settings.CELERY_IMAGE_QUEUE})
    command = [
        sys.executable, "-m", "celery", "-A", "tests.fixtures.worker_app", "worker",
        # Both queues, so that image uploads (routed to their own queue) are processed too.
        "--queues", f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.CELERY_IMAGE_QUEUE}",
        "--concurrency", "2",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    process.log_path = log_path
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(autouse=True)
def no_server_errors():
    """Fail any test during which a view raised (a 500), through the test client or a live server."""
    from django.core.signals import got_request_exception

    raised = []

    def record(sender, request=None, **kwargs):
        raised.append(f"{getattr(request, 'method', '?')} {getattr(request, 'path', '?')}")

    got_request_exception.connect(record, weak=False)
    yield
    got_request_exception.disconnect(record)
    assert not raised, f"a view raised (500) on: {raised}"


@pytest.fixture
def published_tasks():
    """Upload ids of the processing tasks really sent to the broker while the test runs."""
    from celery.signals import before_task_publish

    sent = []

    def record(sender=None, body=None, **kwargs):
        if sender == PROCESS_UPLOAD:
            sent.append(body[0][0])

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


@pytest.fixture
def published_sha256_tasks():
    """Upload ids of the tasks computing a ready upload's SHA-256 really sent while the test runs."""
    from celery.signals import before_task_publish

    from uploads.core.dispatch import COMPUTE_SHA256

    sent = []

    def record(sender=None, body=None, **kwargs):
        if sender == COMPUTE_SHA256:
            sent.append(body[0][0])

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


# --- People ---------------------------------------------------------------------------------


def _user(django_user_model, name):
    return django_user_model.objects.create_user(name, f"{name}@example.org", f"{name}-password-7")


@pytest.fixture
def alice(django_user_model):
    return _user(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    return _user(django_user_model, "bob")


@pytest.fixture
def charlie(django_user_model):
    return _user(django_user_model, "charlie")


def _token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def alice_api(alice):
    return _token_client(alice)


@pytest.fixture
def charlie_api(charlie):
    return _token_client(charlie)


@pytest.fixture
def anonymous_api():
    return APIClient()
