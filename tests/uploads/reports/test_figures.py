"""The upload report: its figures against a count made by hand, as a command and an admin page."""

import io
import math
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from uploads.core.models import Upload

pytestmark = pytest.mark.django_db

MiB = 2**20
NOT_A_ZIP = "This file is not a ZIP file, though its name ends in “.zip”."
TOO_SLOW = "Processing took longer than 600 seconds."

# state, size, seconds to upload (None: never completed), seconds to process, error, peak MiB
VERSION_FILES = [
    ("ready", 10_000_000, 10, 1.9, "", 100),
    ("ready", 50_000_000, 20, 3.0, "", 150),
    ("ready", 5_000_000, 5, 0.5, "", 120),
    ("failed", 8_000_000, 4, 0.2, NOT_A_ZIP, 90),
    ("failed", 12_000_000, 6, 0.2, NOT_A_ZIP, None),
    ("failed", 30_000_000, 30, 600, TOO_SLOW, None),
    ("aborted", 1_000_000, None, None, "", None),
    ("expired", 2_000_000, None, None, "", None),
    ("uploading", 3_000_000, None, None, "", None),
]


def make(
    owner,
    state,
    size,
    upload_seconds,
    processing_seconds,
    error,
    peak,
    *,
    purpose="version_file",
    age=timedelta(hours=3),
):
    created = timezone.now() - age
    times = {"created_at": created, "expires_at": created + timedelta(days=1)}
    if upload_seconds is not None:
        times["completing_at"] = created + timedelta(seconds=upload_seconds)
        times["processing_at"] = times["completing_at"] + timedelta(seconds=0.1)
        end = times["processing_at"] + timedelta(seconds=processing_seconds)
        times[{"ready": "ready_at", "failed": "failed_at"}[state]] = end
    elif state in ("aborted", "expired"):
        times[f"{state}_at"] = created + timedelta(hours=1)
    count = Upload.objects.count()
    return Upload.objects.create(
        owner=owner, purpose=purpose, filename=f"f{count}.zip", key=f"uploads/x/{count}/f.zip",
        size=size, content_type="application/zip", part_size=size, part_count=1, state=state,
        error=error, result={"worker": {"seconds": 1.0, "peak_rss": peak * MiB}} if peak else {},
        **times,
    )  # fmt: skip


def percentile_cont(values, fraction):
    """By hand: linear interpolation between the closest ranks, as Postgres does."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report_lines(*args) -> dict:
    out = io.StringIO()
    call_command("upload_report", *args, stdout=out)
    text = out.getvalue()
    figures = dict(re.findall(r"^  (\S.*?)  +(\S.*)$", text, re.MULTILINE))
    return figures, text


def test_the_report_matches_a_count_made_by_hand(alice):
    for row in VERSION_FILES:
        make(alice, *row)
    make(alice, "ready", 1_000_000, 1, 1, "", 80, purpose="screenshot")  # another purpose
    make(alice, "ready", 1_000_000, 1, 1, "", 80, age=timedelta(days=10))  # before the window

    figures, text = report_lines("--days", "7", "--purpose", "version_file")

    states = [row[0] for row in VERSION_FILES]
    transferred = [row for row in VERSION_FILES if row[2] is not None]
    upload_times = [row[2] for row in transferred]
    throughputs = [row[1] / row[2] / 1e6 for row in transferred]
    processing = [row[3] + 0.0 for row in VERSION_FILES if row[0] == "ready"]
    peaks = [row[5] for row in VERSION_FILES if row[5]]
    finished = len([s for s in states if s in ("ready", "failed", "aborted", "expired")])
    assert figures["uploads started"] == str(len(VERSION_FILES))
    assert figures["ready (completed)"] == str(states.count("ready"))
    assert figures["failed"] == str(states.count("failed"))
    assert figures["aborted"] == str(states.count("aborted"))
    assert figures["expired (timeouts)"] == str(states.count("expired"))
    assert figures["still in progress"] == "1"
    assert figures["completion rate"] == f"{states.count('ready') / finished * 100:.1f}%"  # 37.5%
    assert figures["upload time, median"] == f"{percentile_cont(upload_times, 0.5):,.2f} s"
    assert figures["upload time, p95"] == f"{percentile_cont(upload_times, 0.95):,.2f} s"
    assert figures["throughput, median"] == f"{percentile_cont(throughputs, 0.5):,.2f} MB/s"
    assert figures["throughput, p95"] == f"{percentile_cont(throughputs, 0.95):,.2f} MB/s"
    assert figures["processing time, median"] == f"{percentile_cont(processing, 0.5):,.2f} s"
    assert figures["processing time, p95"] == f"{percentile_cont(processing, 0.95):,.2f} s"
    assert figures["worker peak memory, median"] == f"{percentile_cont(peaks, 0.5):,.1f} MiB"
    assert figures["worker peak memory, max"] == f"{max(peaks):,.1f} MiB"
    assert figures["processing timeouts"] == "1"
    reasons = text.split("Failure reasons:")[1].strip().splitlines()
    assert [line.split(None, 1) for line in reasons] == [["2", NOT_A_ZIP], ["1", TOO_SLOW]]


def test_the_report_of_an_empty_window_says_so_without_dividing_by_zero(alice):
    figures, text = report_lines("--days", "1")

    assert figures["uploads started"] == "0"
    assert figures["completion rate"] == "—"
    assert "(none)" in text


def test_the_admin_report_page_shows_the_figures_and_is_linked_from_the_upload_list(
    admin_client, alice
):
    for row in VERSION_FILES:
        make(alice, *row)

    listing = admin_client.get("/admin/uploads/upload/")
    page = admin_client.get("/admin/uploads/upload/report/?days=7&purpose=version_file")

    assert 'href="/admin/uploads/upload/report/"' in listing.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Completion rate" in html and "37.5%" in html
    assert NOT_A_ZIP in html


def test_the_report_page_is_for_staff_only(client, alice):
    client.force_login(alice)

    response = client.get("/admin/uploads/upload/report/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
