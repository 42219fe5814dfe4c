import os

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.fixtures.site import seed_demo_site


@pytest.fixture
def demo_site(live_server, celery_worker):
    """The live server over the demo data, every upload of it ready."""
    seed_demo_site()
    return live_server


@pytest.fixture(scope="module")
def bucket_allows_live_server(live_server, local_s3):
    """The browser PUTs parts straight to S3, so the bucket's CORS must name the page's origin."""
    configured = settings.UPLOADS_CORS_ORIGINS
    settings.UPLOADS_CORS_ORIGINS = [*configured, live_server.url]
    try:
        call_command("s3_setup", stdout=open(os.devnull, "w"))
    finally:
        settings.UPLOADS_CORS_ORIGINS = configured
