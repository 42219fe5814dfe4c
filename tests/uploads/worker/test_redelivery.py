"""A worker that dies or is stopped mid-task never leaves an upload stuck or half-done.

Each test starts its own worker processes on a queue of its own (the session's worker must not
take the task), makes the first one stall in the processing stage (the renditions) through
the test worker's stall hook (tests/fixtures/worker_app.py), and then kills or stops it as
Heroku would.
"""

import signal

import pytest
from PIL import Image

from tests.fixtures.uploading import wait_for_sha256, wait_for_state
from tests.fixtures.worker import (
    completed_upload,
    log_events,
    photo_with_orientation,
    wait_for_stage,
)
from uploads.storage.connection import bucket_name, s3_client
from uploads.worker.tasks import process_upload

pytestmark = pytest.mark.django_db(transaction=True)

STALL = {"S7_TEST_STALL_STAGE": "processing", "S7_TEST_STALL_SECONDS": 300}


def assert_processed_once(upload_id, first, second):
    upload = wait_for_state(upload_id, {"ready", "failed"}, timeout=90)
    assert upload.state == "ready", upload.error
    # The first worker died before writing anything; the second wrote each rendition once and
    # made the one transition to ready.
    assert log_events(first.log_path, "upload_rendition_written", upload_id) == []
    assert log_events(first.log_path, "upload_transition", upload_id) == []
    written = log_events(second.log_path, "upload_rendition_written", upload_id)
    assert sorted(line["rendition"] for line in written) == ["content", "thumb"]
    to_ready = [
        line
        for line in log_events(second.log_path, "upload_transition", upload_id)
        if line["to"] == "ready"
    ]
    assert len(to_ready) == 1
    thumb = upload.result["renditions"]["thumb"]
    body = s3_client().get_object(Bucket=bucket_name(), Key=thumb["key"])["Body"]
    assert Image.open(body).size == (thumb["width"], thumb["height"]) == (300, 400)
    return upload


def test_a_task_whose_worker_is_killed_mid_task_is_redelivered_and_finished_once(workers, alice):
    upload = completed_upload(alice, photo_with_orientation((1600, 1200)))
    first = workers("killed", **STALL)
    process_upload.apply_async(args=[str(upload.pk)], queue=workers.queue)
    wait_for_stage(upload.pk, "processing")

    first.signal_all(signal.SIGKILL)
    first.wait()
    # Redis redelivers a message left unacknowledged past the visibility timeout; a worker
    # restores such messages when it starts and every few seconds after. Short here, so that
    # the test need not wait the production 16 minutes.
    second = workers("restarted", CELERY_VISIBILITY_TIMEOUT=8)

    done = assert_processed_once(upload.pk, first, second)
    assert wait_for_sha256(done.pk).sha256


def test_a_worker_stopped_like_heroku_hands_its_task_back_for_the_next_worker(workers, alice):
    upload = completed_upload(alice, photo_with_orientation((1600, 1200)))
    first = workers(
        "stopped", REMAP_SIGTERM="SIGQUIT", CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT=2, **STALL
    )
    process_upload.apply_async(args=[str(upload.pk)], queue=workers.queue)
    wait_for_stage(upload.pk, "processing")

    first.signal_all(signal.SIGTERM)
    first.wait(timeout=60)
    assert "Soft Shutdown" in first.log
    # Handed back to the queue, not left unacknowledged: the next worker takes it at once,
    # without any visibility timeout passing (it keeps the production one).
    second = workers("next")

    assert_processed_once(upload.pk, first, second)
