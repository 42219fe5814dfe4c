"""The page tells the server its round trip to the site when it creates an upload, so that the
server can plan parts for the link (tests/uploads/api/test_create.py checks the plan itself)."""

import json

import pytest

from tests.e2e.test_uploader_browser import (  # noqa: F401 (fixtures)
    MiB,
    a_zip,
    assert_ready,
    browser,
    open_demo,
    page,
    pick,
    signed_in_page,
)
from uploads.core.models import Upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_sends_its_measured_round_trip_with_create(page, tmp_path):  # noqa: F811
    bodies = []
    page.on(
        "request",
        lambda request: (
            bodies.append(json.loads(request.post_data))
            if request.method == "POST" and request.url.endswith("/api/uploads/")
            else None
        ),
    )
    a_zip(tmp_path / "map.zip", 2 * MiB)
    open_demo(page)

    pick(page, "version_file", tmp_path / "map.zip")
    assert_ready(page, "version_file")

    [body] = bodies
    # Loopback: a round trip of a millisecond or so, measured, never absent or zero.
    assert isinstance(body["round_trip_ms"], int)
    assert 1 <= body["round_trip_ms"] < 1000
    assert Upload.objects.get(owner__username="alice").part_size == 8 * MiB
