"""Which queue, under which time limits, the worker is handed an upload on."""

import pytest

from tests.fixtures.site import ready_upload
from uploads.core.dispatch import processing_options

pytestmark = pytest.mark.django_db


def test_an_image_goes_to_the_image_queue_with_shorter_time_limits(alice, settings):
    options = processing_options(ready_upload(alice, filename="a.png", purpose="screenshot"))
    assert options == {
        "queue": settings.CELERY_IMAGE_QUEUE,
        "soft_time_limit": settings.CELERY_IMAGE_TASK_SOFT_TIME_LIMIT,
        "time_limit": settings.CELERY_IMAGE_TASK_TIME_LIMIT,
    }
    assert settings.CELERY_IMAGE_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE
    assert settings.CELERY_IMAGE_TASK_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_every_other_file_goes_to_the_default_queue(alice, settings):
    options = processing_options(ready_upload(alice))
    assert options == {"queue": settings.CELERY_TASK_DEFAULT_QUEUE}


def test_the_task_is_published_with_those_options(
    alice, settings, django_capture_on_commit_callbacks
):
    from celery.signals import before_task_publish

    from uploads.core.dispatch import enqueue_processing

    published = []

    def record(sender=None, routing_key=None, headers=None, **kwargs):
        published.append((routing_key, headers.get("timelimit")))

    before_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_processing(ready_upload(alice, filename="b.png", purpose="screenshot"))
    finally:
        before_task_publish.disconnect(record)
    assert published == [
        (
            settings.CELERY_IMAGE_QUEUE,
            [settings.CELERY_IMAGE_TASK_TIME_LIMIT, settings.CELERY_IMAGE_TASK_SOFT_TIME_LIMIT],
        )
    ]
