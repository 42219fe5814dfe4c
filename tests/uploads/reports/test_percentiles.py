"""Every report shows the same percentile: continuous (linear interpolation between the two
nearest ranks), whether the database computes it or Python does."""

import pytest

from tests.fixtures.analytics import DAY_ONE, MiB, at, figure, make_upload
from uploads.reports import sql
from uploads.reports.analytics import Window, upload_section
from uploads.reports.figures import upload_report

pytestmark = pytest.mark.django_db

# Four uploads whose processing began as they were created, so their processing time is their
# time to ready. Medians of an even count: (20 + 40) / 2 = 30 s and (110 + 150) / 2 = 130 MiB;
# p95 at rank 3 × 0.95 = 2.85 is 40 + (80 − 40) × 0.85 = 74 s. Nearest rank would say 20 s,
# 110 MiB and 80 s.
SECONDS_TO_READY = (10, 20, 40, 80)
PEAK_MIB = (100, 110, 150, 200)


@pytest.fixture(params=["database", "python"])
def computed_by(request, monkeypatch):
    if request.param == "python":
        # The suite runs on Postgres only; SQLite (``make run``) has no percentile_cont. Its
        # path is plain ORM that runs on Postgres too, so only the choice of path is forced.
        monkeypatch.setattr(sql, "has_percentile_cont", lambda alias: False)
    return request.param


def four_ready_uploads(owner):
    for seconds, peak in zip(SECONDS_TO_READY, PEAK_MIB, strict=True):
        make_upload(
            owner, created=at(DAY_ONE), state="ready", size=1_000_000, upload_seconds=0,
            end_seconds=seconds, worker=(1.0, peak),
        )  # fmt: skip


def test_the_report_and_the_analytics_page_show_the_same_percentiles(alice, computed_by):
    four_ready_uploads(alice)

    report = upload_report(days=1, now=at(DAY_ONE, hour=23))
    section = upload_section(Window(DAY_ONE, DAY_ONE))
    ((_, page_p50, page_p95),) = figure(section, "time-to-ready").rows
    ((_, page_memory_median, _),) = figure(section, "worker-memory").rows

    assert (report.processing_seconds_median, page_p50) == pytest.approx((30, 30))
    assert (report.processing_seconds_p95, page_p95) == pytest.approx((74, 74))
    assert (report.peak_memory_median, page_memory_median) == pytest.approx((130 * MiB,) * 2)


def test_the_analytics_headline_median_is_the_median_its_chart_shows(alice, computed_by):
    four_ready_uploads(alice)

    section = upload_section(Window(DAY_ONE, DAY_ONE))
    ((_, chart_median, _),) = figure(section, "time-to-ready").rows

    assert chart_median == pytest.approx(30)
    assert dict(section.headline)["Time to ready, median"] == "30.0 s"
