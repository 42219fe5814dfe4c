"""The engine's settings: defaults inside the engine, a project's value where it sets one."""

import os
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from tests.fixtures import ROOT
from tests.fixtures.site import ready_upload
from uploads.conf import DEFAULTS
from uploads.conf import settings as engine_settings
from uploads.core.dispatch import processing_options
from uploads.tasknames import CLEANUP_STORAGE, EXPIRE_STALE_UPLOADS, SWEEP_STUCK_UPLOADS


def test_a_setting_the_project_leaves_out_reads_the_engines_default(settings):
    del settings.UPLOADS_QUOTA_BYTES
    del settings.API_MAX_BODY_BYTES
    assert DEFAULTS["UPLOADS_QUOTA_BYTES"] == engine_settings.UPLOADS_QUOTA_BYTES
    assert engine_settings.API_MAX_BODY_BYTES == 1024 * 1024


def test_a_setting_the_project_changes_wins_and_is_read_at_every_access(settings):
    settings.UPLOADS_QUOTA_BYTES = 123
    assert engine_settings.UPLOADS_QUOTA_BYTES == 123
    settings.UPLOADS_QUOTA_BYTES = 456
    assert engine_settings.UPLOADS_QUOTA_BYTES == 456


def test_names_the_engine_does_not_own_are_djangos(settings):
    assert engine_settings.AUTH_USER_MODEL == settings.AUTH_USER_MODEL
    with pytest.raises(AttributeError):
        engine_settings.NO_SUCH_SETTING  # noqa: B018


def test_defaults_that_follow_other_settings_follow_them(settings):
    del settings.AWS_S3_ADDRESSING_STYLE
    del settings.CELERY_IMAGE_QUEUE
    settings.AWS_S3_ENDPOINT_URL = ""
    settings.CELERY_TASK_DEFAULT_QUEUE = "work"
    assert engine_settings.AWS_S3_ADDRESSING_STYLE == "virtual"
    assert engine_settings.CELERY_IMAGE_QUEUE == "work"
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9000"
    assert engine_settings.AWS_S3_ADDRESSING_STYLE == "path"


@pytest.mark.django_db
def test_without_an_image_queue_of_its_own_a_project_processes_images_on_its_default_queue(
    alice, settings
):
    del settings.CELERY_IMAGE_QUEUE
    options = processing_options(ready_upload(alice, filename="a.png", purpose="screenshot"))
    assert options["queue"] == settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.mark.django_db
def test_a_project_that_names_no_throttle_rates_gets_the_engines(alice, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # DRF reads REST_FRAMEWORK's rates once, into the class: emptied, they stand for a project
    # whose settings name none of the engine's scopes. Alice is new to this run: no window of
    # hers is open yet.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {})
    settings.UPLOADS_THROTTLE_RATES = {**DEFAULTS["UPLOADS_THROTTLE_RATES"], "upload_read": "1/min"}
    api = APIClient()
    api.force_authenticate(alice)
    assert api.get("/api/uploads/").status_code == 200
    assert api.get("/api/uploads/").status_code == 429


def test_s7_reads_an_engine_setting_from_the_environment_without_a_line_of_its_own():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "s7.settings",
        "UPLOADS_MAX_PROCESSING_ATTEMPTS": "3",
        "UPLOADS_PROGRESS_CACHE": "progress",
        "UPLOADS_EXPIRE_EVERY_MINUTES": "7",
    }
    script = (
        "from django.conf import settings as s;"
        "print(s.UPLOADS_MAX_PROCESSING_ATTEMPTS, s.UPLOADS_PROGRESS_CACHE,"
        " s.CELERY_BEAT_SCHEDULE['expire-stale-uploads']['schedule'].total_seconds())"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == ["3", "progress", "420.0"]


def test_the_beat_schedule_runs_the_tasks_the_worker_registers(settings):
    from uploads.worker import tasks

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {EXPIRE_STALE_UPLOADS, SWEEP_STUCK_UPLOADS, CLEANUP_STORAGE}
    registered = {
        tasks.expire_stale_uploads.name,
        tasks.sweep_stuck_uploads.name,
        tasks.cleanup_storage.name,
    }
    assert scheduled == registered
