"""bin/worker, the worker dyno's command: image work on its own queue beside everything else."""

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.fixtures import ROOT
from tests.fixtures.environment import child_environment
from tests.fixtures.site import zip_bytes
from tests.fixtures.uploading import wait_for_state
from tests.fixtures.worker import completed_upload, png, wait_for_stage
from uploads.core.dispatch import enqueue_processing
from uploads.core.models import UploadState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dyno(tmp_path):
    """bin/worker as Heroku runs it, on queues of this test's own, with the tests' stall hook."""
    queue = f"dyno-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    env = child_environment(
        {
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "CELERY_APP": "tests.fixtures.worker_app",
            "CELERY_QUEUE": queue,
            "CELERY_IMAGE_QUEUE": f"{queue}-images",
            "REMAP_SIGTERM": "SIGQUIT",
        }
    )

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "worker"), "--schedule", str(tmp_path / "beat-schedule")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while log_path.read_bytes().count(b"ready.") < 2:
        assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
    process.log_path = log_path
    process.queues = (queue, f"{queue}-images")
    yield process
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


def test_a_slow_image_holds_up_nothing_but_images(dyno, alice, settings):
    from tests.fixtures.worker_app import stall_stage

    settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_IMAGE_QUEUE = dyno.queues
    stall_stage("slow.png", "processing", seconds=20)
    image = completed_upload(alice, png((64, 48)), filename="slow.png", purpose="screenshot")
    enqueue_processing(image)
    wait_for_stage(image.pk, "processing", timeout=30)

    files = [
        completed_upload(
            alice, zip_bytes(f"map {n}"), filename=f"map{n}.zip", purpose="version_file"
        )
        for n in range(3)
    ]
    for upload in files:
        enqueue_processing(upload)

    for upload in files:
        assert wait_for_state(upload.pk, {UploadState.READY}, timeout=15).state == "ready"
    assert image.__class__.objects.get(pk=image.pk).state == UploadState.PROCESSING


def test_when_one_worker_dies_the_other_is_stopped_and_the_script_fails(dyno):
    images = next(
        int(pid)
        for pid in subprocess.run(
            ["pgrep", "-P", str(dyno.pid)], capture_output=True, text=True
        ).stdout.split()
        if "images@" in open(f"/proc/{pid}/cmdline").read()
    )
    os.kill(images, signal.SIGKILL)

    assert dyno.wait(timeout=40) != 0
    # The main worker was stopped; the killed worker's orphaned pool child notices by itself.
    deadline = time.monotonic() + 20
    while subprocess.run(["pgrep", "-s", str(dyno.pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "a worker process outlived bin/worker"
        time.sleep(0.2)


def test_sigterm_to_the_dyno_stops_both_workers_and_then_the_script(dyno):
    children = subprocess.run(
        ["pgrep", "-s", str(dyno.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(children) >= 5  # the script, two workers, their children, beat

    os.killpg(dyno.pid, signal.SIGTERM)  # as Heroku (every process) and honcho (killpg) do

    assert dyno.wait(timeout=40) == 0
    log = dyno.log_path.read_text()
    assert "Hitting Ctrl+C again" in log  # each worker began its soft shutdown...
    assert "Waiting gracefully for cold shutdown" not in log  # ...and was not signalled twice
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-s", str(dyno.pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "a worker process outlived bin/worker"
        time.sleep(0.2)
