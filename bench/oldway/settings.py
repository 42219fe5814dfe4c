"""Settings of the bench's web server: S7's own, plus the old-way view's URL and storage.

The old way saved files through Django's storage API with django-storages' S3Storage (a dev
requirement: S7 itself never stores through that API). It reads S7's AWS_* settings (keys,
bucket, region, endpoint, addressing style) and the options below.
"""

from s7.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.oldway.urls"

STORAGES = {**STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}  # noqa: F405
AWS_S3_SIGNATURE_VERSION = "s3v4"
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
AWS_S3_FILE_OVERWRITE = False

# The browser benchmark loads the uploader's static files from the apps' folders, without
# collectstatic (production's manifest storage would need it).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}  # noqa: F405
WHITENOISE_USE_FINDERS = True
