"""The site's downloads on the admin's analytics page, counted by hand."""

from datetime import UTC, datetime

import pytest

from items import services
from items.reports import downloads_section
from tests.fixtures.analytics import DAY_ONE, DAY_THREE, DAY_TWO, analytics_downloads, rows
from tests.fixtures.site import make_item
from uploads.reports.analytics import Window, sections

pytestmark = pytest.mark.django_db


def test_downloads_per_day_and_the_top_items_and_versions_match_a_count_by_hand(alice):
    made = analytics_downloads(alice)

    section = downloads_section(Window(DAY_ONE, DAY_THREE))

    assert rows(section, "downloads-per-day") == [[DAY_ONE, 9], [DAY_TWO, 2], [DAY_THREE, 0]]
    assert rows(section, "top-items") == [["Pfhor Base", 7, "pfhor-base"], ["Arena", 4, "arena"]]
    assert rows(section, "top-versions") == [
        ["1.0", "Pfhor Base", 5, made["pfhor 1.0"].pk],
        ["1.0", "Arena", 4, made["arena 1.0"].pk],
        ["2.0", "Pfhor Base", 2, made["pfhor 2.0"].pk],
    ]
    assert dict(section.headline) == {"Downloads": "11", "Items downloaded": "2"}
    top = next(f for f in section.figures if f.slug == "top-items")
    assert top.links[0] == f"/admin/items/item/{made['pfhor'].pk}/change/"


def test_an_empty_window_has_no_downloads(alice):
    analytics_downloads(alice)

    section = downloads_section(Window(DAY_THREE, DAY_THREE))

    assert rows(section, "downloads-per-day") == [[DAY_THREE, 0]]
    assert rows(section, "top-items") == [] and rows(section, "top-versions") == []


def test_the_purpose_filter_leaves_downloads_alone(alice):
    analytics_downloads(alice)

    section = downloads_section(Window(DAY_ONE, DAY_THREE, purpose="screenshot"))

    assert rows(section, "downloads-per-day")[0] == [DAY_ONE, 9]


def test_the_site_adds_its_section_to_the_engines_page(alice):
    item = make_item(alice, "Counted Today")
    services.download_record(version=item.versions.get())
    today = datetime.now(UTC).date()

    found = [section.slug for section in sections(Window(today, today))]

    assert found == ["uploads", "downloads"]
    section = sections(Window(today, today))[1]
    assert rows(section, "downloads-per-day") == [[today, 1]]


def test_the_page_offers_the_downloads_as_csv(admin_client, alice):
    analytics_downloads(alice)

    response = admin_client.get(
        "/admin/uploads/uploadanalytics/",
        {
            "window": "custom",
            "first_day": "2026-03-02",
            "last_day": "2026-03-04",
            "csv": "top-items",
        },
    )

    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "item,downloads,permalink", "Pfhor Base,7,pfhor-base", "Arena,4,arena",
    ]  # fmt: skip
