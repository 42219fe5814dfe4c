"""The public read-only API of the site, and the OpenAPI schema it shares with the upload API."""

import pytest
from django.core.management import call_command

from items import services
from tests.fixtures.counts import forget_this_runs_counts
from tests.fixtures.site import make_item, ready_upload

pytestmark = pytest.mark.django_db


def test_it_lists_items_to_anyone_a_cursor_page_at_a_time(alice, anonymous_api):
    for n in range(27):
        make_item(alice, f"Map {n:02}", tags=["map"])
    first = anonymous_api.get("/api/items/")
    assert first.status_code == 200
    body = first.json()
    assert "count" not in body and len(body["results"]) == 25 and body["previous"] is None
    assert "cursor=" in body["next"]
    second = anonymous_api.get(body["next"]).json()
    assert [i["name"] for i in second["results"]] == ["Map 01", "Map 00"] and second["next"] is None
    back = anonymous_api.get(second["previous"]).json()
    assert back["results"] == body["results"]
    item = body["results"][0]
    assert {"permalink", "name", "owner", "tags", "downloads_count", "rating_weighted"} <= set(item)
    assert (item["name"], item["owner"], item["tags"]) == ("Map 26", "alice", ["map"])


LISTS = ["/api/items/", "/api/versions/", "/api/downloads/", "/api/reviews/", "/api/screenshots/",
         "/api/tags/"]  # fmt: skip


@pytest.fixture
def every_list_two_pages_long(alice, bob):
    for n in range(26):
        item = make_item(alice, f"Map {n:02}", tags=[f"tag{n:02}"])
        version = item.versions.get()
        services.review_create(version=version, user=bob, title="Nice", body="", rating=4)
        services.download_record(version=version, user=bob)
        shot = ready_upload(alice, filename="a.png", purpose="screenshot")
        services.screenshots_add(item=item, uploads_and_titles=[(shot, f"Shot {n}")])


def test_no_list_counts_its_rows_or_walks_past_earlier_pages(
    every_list_two_pages_long, anonymous_api
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Every list over the same rows, built once.
    for path in LISTS:
        first = anonymous_api.get(path).json()
        with CaptureQueriesContext(connection) as queries:
            second = anonymous_api.get(first["next"])
        assert second.status_code == 200 and len(second.json()["results"]) == 1, path
        seen = {row["id"] for row in first["results"] + second.json()["results"]}
        assert len(seen) == 26, path
        for query in queries.captured_queries:
            assert "COUNT(" not in query["sql"].upper(), (path, query["sql"])
            assert "OFFSET" not in query["sql"].upper(), (path, query["sql"])


def test_a_page_number_is_refused_with_a_sentence(anonymous_api):
    answer = anonymous_api.get("/api/downloads/", {"page": "400000"})
    assert answer.status_code == 400
    assert "paged by cursor" in answer.json()["detail"]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "cD1hYmM=",  # p=abc: a position that is not an id
        "cD0lMDA=",  # p=%00
        "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",  # p= beyond a bigint
        "bz0tNQ==",  # o=-5
    ],
)
def test_a_cursor_the_list_did_not_give_is_a_json_404(alice, anonymous_api, cursor):
    make_item(alice, "Map")
    answer = anonymous_api.get("/api/items/", {"cursor": cursor})
    assert answer.status_code == 404
    assert answer.json()["detail"]


def test_a_cursor_far_past_the_end_is_an_empty_page(alice, anonymous_api):
    make_item(alice, "Map")
    answer = anonymous_api.get("/api/items/", {"cursor": "cD0xJm89OTk5OTk5OTk="})  # p=1&o=…
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_anonymous_reads_are_throttled_per_address(alice, monkeypatch):
    forget_this_runs_counts()
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"public_read": "3/min"})
    item = make_item(alice, "Map")
    reader = APIClient(REMOTE_ADDR="203.0.113.7")
    # A forged X-Forwarded-For names no new address: no proxy is trusted here.
    answers = [reader.get("/api/items/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}") for n in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert "throttled" in answers[-1].json()["detail"].lower()
    assert int(answers[-1]["Retry-After"]) > 0
    # Another address has its own count: it reads an item at once.
    assert APIClient(REMOTE_ADDR="203.0.113.8").get(f"/api/items/{item.pk}/").status_code == 200
    assert APIClient(REMOTE_ADDR="203.0.113.8").get("/api/tags/").status_code == 200


def test_it_is_read_only(alice, alice_api):
    make_item(alice, "Map")
    assert alice_api.post("/api/items/", {"name": "x"}, format="json").status_code == 405
    assert alice_api.delete("/api/tags/1/").status_code == 405


def test_it_lists_versions_reviews_downloads_screenshots_and_tags(alice, bob, anonymous_api):
    item = make_item(alice, "Map", tags=["map"])
    version = item.versions.first()
    services.review_create(version=version, user=bob, title="Nice", body="", rating=4)
    services.download_record(version=version, user=bob)
    shot = ready_upload(
        alice, filename="a.png", purpose="screenshot",
        result={"renditions": {"thumb": {"key": "uploads/screenshot/x/thumb.jpg", "width": 300, "height": 225},
                               "content": {"key": "uploads/screenshot/x/content.jpg", "width": 920, "height": 690}}},
    )  # fmt: skip
    services.screenshots_add(item=item, uploads_and_titles=[(shot, "Lava")])

    versions = anonymous_api.get("/api/versions/").json()["results"]
    assert versions[0]["item"] == "map" and versions[0]["link"] and versions[0]["ready"] is True
    reviews = anonymous_api.get("/api/reviews/").json()["results"]
    assert (reviews[0]["user"], reviews[0]["rating"]) == ("bob", 4)
    downloads = anonymous_api.get("/api/downloads/").json()["results"]
    assert downloads[0]["item"] == "map" and "user" not in downloads[0]
    shots = anonymous_api.get("/api/screenshots/").json()["results"]
    assert shots[0]["title"] == "Lava" and shots[0]["thumb"]["width"] == 300
    assert "thumb.jpg" in shots[0]["thumb"]["url"] and "X-Amz-Signature" in shots[0]["thumb"]["url"]
    tags = anonymous_api.get("/api/tags/").json()["results"]
    assert tags == [{"id": tags[0]["id"], "name": "map", "permalink": "map", "items_count": 1}]


def test_the_openapi_schema_validates_with_the_site_and_upload_apis(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in ["/api/items/", "/api/versions/", "/api/downloads/", "/api/reviews/", "/api/screenshots/",
                 "/api/tags/", "/api/uploads/"]:  # fmt: skip
        assert f"  {path}:" in schema, path


def test_a_tag_cursor_holding_a_nul_is_a_json_404(alice, anonymous_api):
    make_item(alice, "Map", tags=["map"])
    answer = anonymous_api.get("/api/tags/", {"cursor": "cD0lMDA="})  # p=%00
    assert answer.status_code == 404


def test_behind_the_router_reads_are_throttled_per_forwarded_address(alice, monkeypatch, settings):
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    forget_this_runs_counts()
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"public_read": "2/min"})
    router = APIClient(REMOTE_ADDR="10.0.0.1")

    def read(forwarded):
        return router.get("/api/tags/", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # The router appends the caller's address; what the caller wrote before it is not trusted.
    assert [read(f"{n}.0.0.1, 203.0.113.7") for n in range(3)] == [200, 200, 429]
    assert read("203.0.113.7, 203.0.113.8") == 200
