import uuid

import pytest

from tests.fixtures.worker import Worker


@pytest.fixture
def workers(tmp_path):
    """Starts worker processes on this test's own queue (the session's worker must not take its
    tasks); kills whatever is left at the end."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    started = []

    def start(name, **env):
        worker = Worker(tmp_path / f"{name}.log", queue, **env)
        started.append(worker)
        return worker

    start.queue = queue
    yield start
    for worker in started:
        worker.stop()
