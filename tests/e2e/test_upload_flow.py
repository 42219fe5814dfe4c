"""Whole uploads over real HTTP: a live Django server, SeaweedFS and a Celery worker."""

import hashlib
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.core.cache import caches
from django.utils import timezone
from rest_framework.authtoken.models import Token

from devtools.seaweedfs import free_port
from tests.fixtures.uploading import (
    b64_md5,
    b64_sha256,
    s3_open_upload_ids,
    wait_for_sha256,
    wait_for_state,
)
from uploads.core.models import Upload
from uploads.storage.connection import bucket_name, s3_client
from uploads.worker.tasks import expire_stale_uploads

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


class Uploader:
    """What any client does, over HTTP: create, sign in batches, PUT in parallel, complete."""

    def __init__(self, base_url, user):
        self.base = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = (
            f"Token {Token.objects.get_or_create(user=user)[0].key}"
        )

    def api(self, method, path, **kwargs):
        return self.http.request(method, f"{self.base}/api/uploads/{path}", timeout=60, **kwargs)

    def create(self, data, filename="Big Map.sceA", purpose="version_file"):
        response = self.api(
            "POST", "", json={"filename": filename, "size": len(data), "purpose": purpose}
        )
        assert response.status_code == 201, response.text
        return response.json()

    def part(self, upload, data, n):
        return data[(n - 1) * upload["part_size"] : n * upload["part_size"]]

    def send(self, upload, data, numbers=None, workers=6):
        numbers = list(numbers or range(1, upload["part_count"] + 1))

        def put(signed):
            body = self.part(upload, data, signed["part_number"])
            response = requests.put(signed["url"], data=body, headers=signed["headers"], timeout=60)
            assert response.status_code == 200, response.text

        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, len(numbers), 100):
                batch = [
                    {
                        "part_number": n,
                        "checksum_sha256": b64_sha256(self.part(upload, data, n)),
                        "content_md5": b64_md5(self.part(upload, data, n)),
                    }
                    for n in numbers[start : start + 100]
                ]
                signed = self.api("POST", f"{upload['id']}/parts/", json={"parts": batch})
                assert signed.status_code == 200, signed.text
                list(pool.map(put, signed.json()["parts"]))

    def complete(self, upload):
        return self.api("POST", f"{upload['id']}/complete/", json={})


def test_a_64_mib_file_uploaded_in_parallel_parts_becomes_ready(live_server, celery_worker, alice):
    data = os.urandom(64 * MiB)
    client = Uploader(live_server.url, alice)
    started = time.perf_counter()
    upload = client.create(data)
    client.send(upload, data)
    response = client.complete(upload)
    assert response.status_code == 202, response.text
    ready = wait_for_state(upload["id"], {"ready", "failed"})
    elapsed = time.perf_counter() - started
    print(f"\n64 MiB upload to ready: {elapsed:.2f} s ({64 / elapsed:.1f} MiB/s)")

    assert ready.state == "ready", ready.error
    assert wait_for_sha256(ready.pk).sha256 == hashlib.sha256(data).hexdigest()
    stored = s3_client().get_object(Bucket=bucket_name(), Key=ready.key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
    final = client.complete(upload)
    assert (final.status_code, final.json()["state"]) == (200, "ready")


def test_ten_concurrent_completes_make_one_completion_and_one_task(
    live_server, celery_worker, alice, published_tasks
):
    data = os.urandom(20 * MiB)
    client = Uploader(live_server.url, alice)
    upload = client.create(data)
    client.send(upload, data)

    barrier = threading.Barrier(10)

    def complete():
        barrier.wait()
        return client.complete(upload)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: complete(), range(10)))

    assert {a.status_code for a in answers} <= {200, 202}
    assert len({a.json()["completing_at"] for a in answers}) == 1  # one completion, seen by all
    assert published_tasks.count(upload["id"]) == 1
    assert wait_for_state(upload["id"], {"ready", "failed"}).state == "ready"


def test_the_periodic_task_expires_stale_uploads_and_aborts_them_on_s3(live_server, alice):
    data = os.urandom(6 * MiB)
    client = Uploader(live_server.url, alice)
    stale, fresh = client.create(data), client.create(data)
    client.send(stale, data, numbers=[1])
    Upload.objects.filter(pk=stale["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    stale_s3_id = Upload.objects.get(pk=stale["id"]).s3_upload_id

    assert expire_stale_uploads() == 1

    assert Upload.objects.get(pk=stale["id"]).state == "expired"
    assert stale_s3_id not in s3_open_upload_ids()
    assert Upload.objects.get(pk=fresh["id"]).state == "uploading"
    refused = client.api(
        "POST",
        f"{stale['id']}/parts/",
        json={"parts": [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}]},
    )
    assert refused.status_code == 409


@pytest.fixture
def private_redis(settings, tmp_path):
    """A Redis server of this test's own, to stop and start without disturbing anybody."""
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]

    def start():
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        for _ in range(50):
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).stdout.strip()
                == b"PONG"
            ):
                return process
            time.sleep(0.1)
        raise RuntimeError("redis did not start")

    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    settings.UPLOADS_PROGRESS_CACHE = "progress"
    server = {"process": start(), "start": start}
    yield server
    server["process"].terminate()
    server["process"].wait()
    caches["progress"].close()


def test_with_redis_down_an_upload_still_completes_and_progress_returns_after(
    live_server, celery_worker, alice, private_redis
):
    data = os.urandom(6 * MiB)
    client = Uploader(live_server.url, alice)
    upload = client.create(data)
    assert (
        client.api("POST", f"{upload['id']}/progress/", json={"bytes_uploaded": 100}).status_code
        == 204
    )
    assert client.api("GET", f"{upload['id']}/progress/").json()["bytes_uploaded"] == 100

    private_redis["process"].terminate()
    private_redis["process"].wait()
    assert (
        client.api("POST", f"{upload['id']}/progress/", json={"bytes_uploaded": 200}).status_code
        == 204
    )
    down = client.api("GET", f"{upload['id']}/progress/").json()
    assert (down["bytes_uploaded"], down["updated_at"]) == (0, None)  # empty, not an error
    client.send(upload, data)
    assert client.complete(upload).status_code == 202
    assert wait_for_state(upload["id"], {"ready", "failed"}).state == "ready"

    private_redis["process"] = private_redis["start"]()
    second = client.create(data, filename="again.sceA")
    assert (
        client.api("POST", f"{second['id']}/progress/", json={"bytes_uploaded": 300}).status_code
        == 204
    )
    assert client.api("GET", f"{second['id']}/progress/").json()["bytes_uploaded"] == 300
