"""Test settings: the real settings against real Postgres and Redis, isolated per test run.

The run id keeps concurrent runs (CI, a developer, helpers) from sharing a database, cache keys
or a Celery queue; the test session starts its own SeaweedFS and points the settings at it.
"""

import os

# Production is the default; the tests, and every server and worker they start (which inherit
# this environment), run in development mode.
os.environ["S7_ENV"] = "development"
RUN_ID = os.environ.setdefault("S7_TEST_RUN_ID", str(os.getpid()))
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/s7_{RUN_ID}")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CACHE_KEY_PREFIX", f"s7test{RUN_ID}")
os.environ.setdefault("CELERY_QUEUE", f"s7test{RUN_ID}")
os.environ.setdefault("CELERY_BROKER_KEY_PREFIX", f"s7test{RUN_ID}:")
os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "s7-test")
os.environ.setdefault("S7_VAR_DIR", f"/tmp/s7-test-{RUN_ID}")

from s7.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
