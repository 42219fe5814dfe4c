"""The engine as a package: its wheel, installed into a fresh virtualenv, serves a Django project
of a few dozen lines that lives outside this repository and knows nothing of S7.

The project (``shop``) registers one purpose, has an app of its own that is also called
``uploads`` (relabelled, as the engine's README tells), migrates a database of its own, and
runs its own web server and Celery worker against a SeaweedFS of its own. The installed
client then uploads a file through it and the file ends ready, processed by the project's hook.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
import requests

from devtools.seaweedfs import LocalS3, discard, free_port
from tests.fixtures import ROOT

UV = str(Path(sys.executable).parent / "uv")

PROJECT = {
    "manage.py": """
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
""",
    # Loads the Celery app in every process of the project, so that the web side enqueues on it.
    "shop/__init__.py": "from shop.celery import app as celery_app\n",
    "shop/settings.py": """
import os

from uploads.tasknames import beat_schedule

SECRET_KEY = "a test project's key, nothing to keep"
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework.authtoken",
    "uploads",
    "shop",
    "shop.uploads",
]
ROOT_URLCONF = "shop.urls"
REDIS = "redis://127.0.0.1:6379/0"
PREFIX = os.environ["SHOP_PREFIX"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1",
                         "USER": "postgres", "NAME": os.environ["SHOP_DATABASE"]}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": REDIS, "KEY_PREFIX": PREFIX}}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
CELERY_BROKER_URL = REDIS
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": PREFIX}
CELERY_TASK_DEFAULT_QUEUE = PREFIX
CELERY_BEAT_SCHEDULE = beat_schedule()
AWS_STORAGE_BUCKET_NAME = "shop"
AWS_ACCESS_KEY_ID = "shop"
AWS_SECRET_ACCESS_KEY = "shop-secret"
AWS_S3_ENDPOINT_URL = os.environ["SHOP_S3"]
UPLOADS_CORS_ORIGINS = ["http://127.0.0.1"]
""",
    "shop/urls.py": """
from django.urls import include, path

urlpatterns = [path("api/uploads/", include("uploads.api.urls"))]
""",
    "shop/apps.py": """
from django.apps import AppConfig


def count_lines(upload):
    return {"lines_counted_by": "shop"}


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        from uploads.core.purposes import Purpose, register

        register(Purpose(name="report", max_size=10 * 1024 * 1024,
                         extensions=frozenset({".txt"}), process=count_lines))
""",
    "shop/celery.py": """
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["uploads.worker"])
""",
    # The project's own app named uploads: its label, not the engine's, is the one that changes.
    "shop/uploads/__init__.py": "",
    "shop/uploads/apps.py": """
from django.apps import AppConfig


class ShopUploadsConfig(AppConfig):
    name = "shop.uploads"
    label = "shop_uploads"
    default_auto_field = "django.db.models.BigAutoField"
""",
    "shop/uploads/models.py": """
from django.db import models


class Attachment(models.Model):
    upload = models.OneToOneField("uploads.Upload", on_delete=models.CASCADE)
""",
    "shop/uploads/migrations/__init__.py": "",
    "shop/uploads/migrations/0001_initial.py": """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("uploads", "0001_initial")]
    operations = [
        migrations.CreateModel(
            name="Attachment",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("upload", models.OneToOneField(on_delete=models.CASCADE, to="uploads.upload")),
            ],
        ),
    ]
""",
}

# Run inside the virtualenv: where the engine comes from, and that nothing of S7 is importable.
WHERE_FROM = """
import importlib.util, json, sys, uploads
print(json.dumps({
    "uploads": uploads.__file__,
    "path": sys.path,
    "items": importlib.util.find_spec("items") is not None,
    "s7": importlib.util.find_spec("s7") is not None,
    "devtools": importlib.util.find_spec("devtools") is not None,
}))
"""

UPLOAD = """
import json, sys
from uploads.client import S7Client

url, token, path = sys.argv[1:]
result = S7Client(url, token, progress=False).upload(path, purpose="report", wait_timeout=60)
print(json.dumps(result.as_dict()))
"""

# In one process: each start of Django costs seconds on a loaded machine.
SET_UP = """
import io, json
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

migrated = io.StringIO()
call_command("migrate", interactive=False, stdout=migrated)
call_command("s3_setup", wait=30, stdout=io.StringIO())
token = Token.objects.create(user=User.objects.create_user("ann")).key
print(json.dumps({"migrated": migrated.getvalue(), "token": token}))
"""

ATTACH_AND_SHOW = """
import json
from shop.uploads.models import Attachment
from uploads.core.models import Upload

upload = Upload.objects.get()
Attachment.objects.create(upload=upload)
print(json.dumps({"state": upload.state, "sha256": upload.sha256, "result": upload.result,
                  "unattached": Upload.objects.unattached().count()}))
"""


def write_project(root: Path) -> None:
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def shop_database():
    name = f"shop_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.long(10)
def test_the_wheel_installed_in_a_fresh_virtualenv_serves_a_project_that_is_not_s7(
    tmp_path, shop_database
):
    assert not tmp_path.is_relative_to(ROOT)
    seconds = {}

    started = time.monotonic()
    subprocess.run(
        [UV, "build", "--wheel", "--quiet", "--out-dir", tmp_path / "dist", ROOT / "uploads"],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("s7_uploads-*.whl")
    seconds["build the wheel"] = time.monotonic() - started

    # Its dependencies come from the registry (or uv's cache), at the versions S7 runs; the
    # project adds its database driver and its broker's transport.
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", python, "--constraints",
         ROOT / "requirements.txt", wheel, "psycopg[binary]", "celery[redis]"],
        check=True,
    )  # fmt: skip
    seconds["make the virtualenv and install"] = time.monotonic() - started

    project = tmp_path / "project"
    write_project(project)
    prefix = f"shop{uuid.uuid4().hex[:10]}"
    logs = tmp_path / "logs"
    logs.mkdir()
    with ExitStack() as services:
        s3 = LocalS3(
            data_dir=tmp_path / "seaweedfs",
            access_key="shop",
            secret_key="shop-secret",
            s3_port=0,
            spread_ports=True,
        )
        services.callback(discard, s3.start())
        # Nothing of this repository's environment reaches the project: only these.
        environment = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "SHOP_DATABASE": shop_database,
            "SHOP_PREFIX": prefix,
            "SHOP_S3": s3.endpoint_url,
        }

        def run(*args: str) -> str:
            done = subprocess.run(
                [python, *args], cwd=project, env=environment, capture_output=True, text=True
            )
            logged = "".join(f"\n{log.name}:\n{log.read_text()}" for log in logs.glob("*.log"))
            assert done.returncode == 0, f"{args[:2]} failed:\n{done.stdout}{done.stderr}{logged}"
            return done.stdout

        where = json.loads(run("-c", WHERE_FROM))
        assert Path(where["uploads"]).is_relative_to(venv), where["uploads"]
        assert not [entry for entry in where["path"] if entry and Path(entry).is_relative_to(ROOT)]
        assert (where["items"], where["s7"], where["devtools"]) == (False, False, False)

        started = time.monotonic()
        set_up = json.loads(run("manage.py", "shell", "--no-imports", "-c", SET_UP))
        assert "Applying uploads.0001_initial... OK" in set_up["migrated"]
        assert "Applying shop_uploads.0001_initial... OK" in set_up["migrated"]
        token = set_up["token"]
        seconds["migrate and set up the bucket"] = time.monotonic() - started

        started = time.monotonic()
        port = free_port()
        processes = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [
                str(venv / "bin" / "celery"), "-A", "shop", "worker", "--queues", prefix,
                "--concurrency", "1", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "INFO",
            ],
        }  # fmt: skip
        for name, command in processes.items():
            with open(logs / f"{name}.log", "wb") as log:
                process = subprocess.Popen(
                    command,
                    cwd=project,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            services.callback(stop, process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/api/uploads/purposes/", timeout=2).status_code == 401:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (logs / "web.log").read_text()
            time.sleep(0.3)
        while b"ready." not in (logs / "worker.log").read_bytes():
            assert time.monotonic() < deadline, (logs / "worker.log").read_text()
            time.sleep(0.3)
        seconds["start the web server and the worker"] = time.monotonic() - started

        started = time.monotonic()
        report = tmp_path / "report.txt"
        report.write_bytes(b"one line\n" * 200_000)
        result = json.loads(run("-c", UPLOAD, url, token, str(report)))
        seconds["upload until ready"] = time.monotonic() - started
        assert result["state"] == "ready", (result, (logs / "worker.log").read_text())
        assert result["result"]["lines_counted_by"] == "shop"

        shown = json.loads(run("manage.py", "shell", "--no-imports", "-c", ATTACH_AND_SHOW))
        assert shown["state"] == "ready"
        assert shown["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
        assert shown["result"]["lines_counted_by"] == "shop"
        assert shown["unattached"] == 0

    print(", ".join(f"{step}: {taken:.1f} s" for step, taken in seconds.items()))
