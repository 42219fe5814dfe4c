"""Production settings and the S3 set-up commands, run as Heroku would run them."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from uploads.storage import bucket_setup
from uploads.storage.connection import bucket_name, s3_client

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "SECRET_KEY": "k8Qz1vLp0Wm7Rt4Yx2Bn9Cs6Dg3Hj5Fa-e+u_W2r!x9Tq4Mz6Pn8Ld0",
    "DATABASE_URL": "postgres://s7:secret@db.example.org:5432/s7",
    "REDIS_URL": "rediss://:secret@redis.example.org:6380",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_STORAGE_BUCKET_NAME": "s7-files",
    "AWS_S3_REGION_NAME": "us-east-1",
    "ALLOWED_HOSTS": "simplici7y.com",
    "SITE_URL": "https://simplici7y.com",
    "SIGNUP_PASSPHRASE": "pfhor-battleroid",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.org",
}


def manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "DATABASE", "REDIS", "S7_", "CELERY", "CACHE", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "s7.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_start_up_names_every_missing_setting():
    missing = ("SECRET_KEY", "SITE_URL", "AWS_STORAGE_BUCKET_NAME", "EMAIL_BACKEND")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert (
        "Production settings are missing: SECRET_KEY, SITE_URL, AWS_STORAGE_BUCKET_NAME, "
        "EMAIL_BACKEND" in result.stderr
    )


@pytest.mark.parametrize("mode", [None, "", "dev", "Production", "staging"])
def test_anything_but_an_explicit_development_mode_is_production(mode, tmp_path):
    env = {"S7_VAR_DIR": str(tmp_path)}
    if mode is not None:
        env["S7_ENV"] = mode
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Production settings are missing: SECRET_KEY" in result.stderr


@pytest.mark.parametrize("backend", ["console", "filebased", "locmem", "dummy"])
def test_production_refuses_an_email_backend_that_sends_nothing(backend):
    env = {**PRODUCTION_ENV, "EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"EMAIL_BACKEND django.core.mail.backends.{backend}.EmailBackend does not send mail" in (
        result.stderr
    )


def test_production_never_runs_with_debug():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                    env={**PRODUCTION_ENV, "DEBUG": "1"})  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_local_settings_need_nothing_installed(tmp_path):
    result = manage("check", env={"S7_ENV": "development", "S7_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_s3_setup_is_idempotent():
    call_command("s3_setup", stdout=StringIO())
    call_command("s3_setup", stdout=StringIO())
    assert any(
        "AbortIncompleteMultipartUpload" in rule for rule in bucket_setup.get_lifecycle_rules()
    )
    assert "ETag" in bucket_setup.get_cors()[0]["ExposeHeaders"]


def test_s3_doctor_reports_a_healthy_bucket():
    out = StringIO()
    call_command("s3_doctor", stdout=out)
    assert "is ready for uploads" in out.getvalue()


@pytest.mark.django_db
def test_s3_doctor_reports_a_bucket_without_cors_as_broken():
    s3_client().delete_bucket_cors(Bucket=bucket_name())
    out = StringIO()
    try:
        with pytest.raises(CommandError, match="problem"):
            call_command("s3_doctor", stdout=out)
    finally:
        call_command("s3_setup", stdout=StringIO())
    assert "CORS does not allow the site origin" in out.getvalue()


def test_s3_doctor_reports_a_missing_bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = "s7-no-such-bucket"
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("s3_doctor", stdout=out)
    assert "does not exist" in out.getvalue()
