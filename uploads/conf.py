"""The engine's settings and their defaults: a project sets only the ones it changes.

The engine's modules read ``from uploads.conf import settings`` where they would read Django's
settings: a name listed here comes from the project's settings when it sets it, else from its
default below; any other name is Django's. A new engine setting gets its default here, and a
project's settings file never has to repeat it.

This module imports nothing of the engine, so a project's settings file may read ``DEFAULTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings

HOUR = 3600
DAY = 24 * HOUR

DEFAULTS: dict[str, Any] = {
    # How long (seconds) a presigned URL works: a part's PUT, a download, an image in a page
    # (long enough that a page left open still shows it).
    "UPLOADS_PART_URL_EXPIRES": 600,
    "UPLOADS_DOWNLOAD_URL_EXPIRES": 300,
    "UPLOADS_INLINE_URL_EXPIRES": 6 * HOUR,
    # An unfinished upload's life; how many a user may have open at once.
    "UPLOADS_EXPIRE_AFTER": DAY,
    "UPLOADS_MAX_OPEN_PER_USER": 20,
    # Bytes one user may hold, finished and unfinished uploads together (staff are exempt).
    "UPLOADS_QUOTA_BYTES": 10 * 1000**3,
    # A ready upload that nothing attaches within this many seconds (a form left unsent) is deleted.
    "UPLOADS_UNATTACHED_GRACE": DAY,
    # The cache (an alias of CACHES) that holds progress records, and for how long.
    "UPLOADS_PROGRESS_CACHE": "default",
    "UPLOADS_PROGRESS_TTL": DAY,
    # How long (seconds) an upload's answer to GET keeps the parts S3 listed for it.
    "UPLOADS_PARTS_LISTING_TTL": 5,
    # Images are refused from their header when decoding them would cost more than this: pixels
    # for JPEG (decoded at reduced scale), fewer for PNG, GIF and WebP (decoded whole), and bytes
    # of decoded pixels whatever the format.
    "UPLOADS_IMAGE_MAX_PIXELS": 90_000_000,
    "UPLOADS_IMAGE_MAX_PIXELS_DECODED_WHOLE": 24_000_000,
    "UPLOADS_IMAGE_MEMORY_BUDGET": 96 * 1024**2,
    # Each image is decoded in a process of its own whose address space (RLIMIT_AS) is capped
    # here, a backstop for what the budget's estimate misses; 0 leaves it uncapped. The largest
    # image the budget admits maps about 175 MiB.
    "UPLOADS_IMAGE_ADDRESS_SPACE": 256 * 1024**2,
    # The clients' timings (seconds), served to both of them by GET /api/uploads/purposes/. An
    # uploader reports the bytes it has sent at most this often: each report costs the web a
    # request.
    "UPLOADS_PROGRESS_REPORT_INTERVAL": 15,
    # After completion it asks whether the upload is ready after each of these delays, the last
    # one repeated: often at first, since the worker makes an upload ready a fraction of a second
    # after completion whatever its size (its SHA-256 comes later), then less and less.
    "UPLOADS_STATUS_POLL_DELAYS": [0.1, 0.1, 0.1, 0.1, 0.15, 0.25, 0.5, 1, 2],
    # While the connection is down it asks the site again after each of these, the last repeated.
    "UPLOADS_OUTAGE_RECHECK_DELAYS": [1, 2, 4, 8, 15],
    # It neither starts a part on a signed URL nor resumes an upload that expires within this
    # margin: the bytes in flight must not outlive their URL.
    "UPLOADS_EXPIRY_MARGIN": 60,
    # The template the uploader demo page extends: a site gives its own layout.
    "UPLOADS_BASE_TEMPLATE": "uploads/base.html",
    # Origins whose browsers may PUT parts to the bucket (its CORS rules, set by s3_setup).
    "UPLOADS_CORS_ORIGINS": [],
    # An upload left in completing or processing this long (seconds) is resolved or enqueued
    # again; keep processing's above the broker's visibility timeout, so a redelivery comes first.
    "UPLOADS_STUCK_COMPLETING_AFTER": 15 * 60,
    "UPLOADS_STUCK_PROCESSING_AFTER": 30 * 60,
    "UPLOADS_MAX_PROCESSING_ATTEMPTS": 8,
    # A multipart upload no row knows is aborted only once older than this (its row may be about
    # to be committed); objects of uploads failed within the window are deleted if still there.
    "UPLOADS_ORPHAN_MIN_AGE": 15 * 60,
    "UPLOADS_CLEANUP_FAILED_WINDOW": 7 * DAY,
    # The throttle rates of the API's scopes, where REST_FRAMEWORK's DEFAULT_THROTTLE_RATES does
    # not name them. Reads include the uploader polling progress, a few files at a time.
    "UPLOADS_THROTTLE_RATES": {
        "upload_create": "60/min",
        "upload_sign": "600/min",
        "upload_read": "1200/min",
        "upload_write": "600/min",
    },
    # Requests under this path whose body is larger are refused (413) before they are read. The
    # largest body the API takes is a completion listing all 10,000 parts' ETags, some 700 kB.
    "API_PATH_PREFIX": "/api/",
    "API_MAX_BODY_BYTES": 1024 * 1024,
    # S3 (or any server that speaks it). The bucket and the keys have no default: the system
    # checks warn while they are empty.
    "AWS_STORAGE_BUCKET_NAME": "",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_S3_REGION_NAME": "us-east-1",
    # Empty for AWS itself; a local server's URL otherwise.
    "AWS_S3_ENDPOINT_URL": "",
    # Celery's own defaults, which Django's settings hold only when a project sets them.
    "CELERY_TASK_DEFAULT_QUEUE": "celery",
    "CELERY_TASK_SOFT_TIME_LIMIT": None,
    # Uploads whose purpose decodes images, under shorter time limits (the queue's default is
    # below: the default queue, so that one worker serves everything).
    "CELERY_IMAGE_TASK_SOFT_TIME_LIMIT": 120,
    "CELERY_IMAGE_TASK_TIME_LIMIT": 150,
}

# Defaults that follow from other settings.
DERIVED_DEFAULTS: dict[str, Callable[[Any], Any]] = {
    # Local servers want path-style addressing; AWS takes virtual-hosted style.
    "AWS_S3_ADDRESSING_STYLE": lambda s: "path" if s.AWS_S3_ENDPOINT_URL else "virtual",
    "CELERY_IMAGE_QUEUE": lambda s: s.CELERY_TASK_DEFAULT_QUEUE,
}


class EngineSettings:
    """Django's settings, with the engine's defaults beneath them. Read at every access, so
    that a test's ``override_settings`` is seen."""

    def __getattr__(self, name: str) -> Any:
        if name in DEFAULTS:
            return getattr(django_settings, name, DEFAULTS[name])
        if name in DERIVED_DEFAULTS:
            if hasattr(django_settings, name):
                return getattr(django_settings, name)
            return DERIVED_DEFAULTS[name](self)
        return getattr(django_settings, name)


settings = EngineSettings()
