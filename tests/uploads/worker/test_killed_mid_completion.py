"""A worker SIGKILLed inside CompleteMultipartUpload's stage, or while it verifies the object,
leaves its task unacknowledged; the next worker takes it and the upload ends ready
exactly once.

Each test starts its own workers on a queue of its own and holds the first one in the stage
through the test worker's stall hook (tests/fixtures/worker_app.py), then kills it.
"""

import hashlib
import os
import signal
import time

import pytest
from django.utils import timezone

from tests.fixtures.uploading import send_all_parts, start_upload, wait_for_sha256, wait_for_state
from tests.fixtures.worker import log_events, wait_for_stage
from uploads.core.models import Upload
from uploads.storage import multipart, objects
from uploads.worker.tasks import process_upload

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def completing_upload(api, data: bytes) -> Upload:
    """Every part on S3 and the row in completing, as the complete endpoint leaves it, but with
    no task sent: the test sends it to its own workers."""
    upload = start_upload(api, data, filename="Big Map.sceA")
    send_all_parts(api, upload, data)
    Upload.objects.filter(pk=upload["id"]).update(state="completing", completing_at=timezone.now())
    return Upload.objects.get(pk=upload["id"])


@pytest.mark.parametrize("stage", ["completing", "verifying"])
def test_a_worker_killed_in_the_stage_leaves_the_upload_ready_exactly_once(
    stage, workers, alice_api
):
    data = os.urandom(12 * MiB)
    upload = completing_upload(alice_api, data)
    first = workers("killed", S7_TEST_STALL_STAGE=stage, S7_TEST_STALL_SECONDS=300)
    process_upload.apply_async(args=[str(upload.pk)], queue=workers.queue)
    wait_for_stage(upload.pk, stage)

    first.signal_all(signal.SIGKILL)
    first.wait()
    # The killed worker's message is redelivered once the visibility timeout passes; short
    # here so that the test need not wait the production 16 minutes.
    second = workers("restarted", CELERY_VISIBILITY_TIMEOUT=8)

    done = wait_for_state(upload.pk, {"ready", "failed"}, timeout=120)
    assert done.state == "ready", done.error

    # Each transition happened once, whichever worker made it: the killed one may have moved
    # the upload to processing before it died in verification, never any further.
    def transitions():
        return sorted(
            (line["from"], line["to"])
            for worker in (first, second)
            for line in log_events(worker.log_path, "upload_transition", upload.pk)
        )

    # The worker writes its line just after the row: on a loaded machine, give it a moment.
    expected = [("completing", "processing"), ("processing", "ready")]
    deadline = time.monotonic() + 10
    while transitions() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert transitions() == expected
    assert ("processing", "ready") not in [
        (line["from"], line["to"])
        for line in log_events(first.log_path, "upload_transition", upload.pk)
    ]
    head = objects.head_object(done.key)
    assert head["ContentLength"] == len(data)
    assert wait_for_sha256(done.pk).sha256 == hashlib.sha256(data).hexdigest()
    assert done.s3_upload_id not in {u.upload_id for u in multipart.list_multipart_uploads()}
