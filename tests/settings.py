"""Test settings: the real settings against real Postgres and Redis, isolated per test run.

The run id keeps concurrent runs (CI, a developer, helpers) from sharing a database, cache keys
or a Celery queue; the test session starts its own SeaweedFS and points the settings at it.
"""

import os

# Production is the default; the tests, and every server and worker they start (which inherit
# this environment), run in development mode.
os.environ["S7_ENV"] = "development"


def _isolated_by(run_id: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/s7_{run_id}",
        "CACHE_KEY_PREFIX": f"s7test{run_id}",
        "CELERY_QUEUE": f"s7test{run_id}",
        "CELERY_BROKER_KEY_PREFIX": f"s7test{run_id}:",
        "S7_VAR_DIR": f"/tmp/s7-test-{run_id}",
    }


# Under pytest-xdist every worker process is a run of its own. The controller has already put its
# own run's names in the environment that the workers inherit: those are replaced, while a name
# given from outside is kept.
SESSION_RUN_ID = os.environ.setdefault("S7_TEST_RUN_ID", str(os.getpid()))
RUN_ID = SESSION_RUN_ID + os.environ.get("PYTEST_XDIST_WORKER", "")
_inherited = _isolated_by(SESSION_RUN_ID)
for _name, _value in _isolated_by(RUN_ID).items():
    if os.environ.get(_name, _inherited[_name]) == _inherited[_name]:
        os.environ[_name] = _value
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "s7-test")

from s7.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Emptied between transactional tests by DELETE, not TRUNCATE (tests/postgres/base.py).
if DATABASES["default"]["ENGINE"] == "s7.postgres":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgres"  # noqa: F405
