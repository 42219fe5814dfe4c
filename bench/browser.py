"""Benchmark 11: the browser uploader, three ways, on one large file in the same run.

Headless Chromium drives the real pages: S7's uploader (the demo page, every part hashed and
pinned by its SHA-256) and stock ``@uppy/aws-s3`` 5.x with plain presigned multipart (no
checksums, the bench-only endpoints of bench/stockuppy), same part size and 6 parts in flight;
the Python client sends the same file beside them. Runs alternate, so that a change in the
machine's load falls on every way alike.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.core.management import call_command
from django.test import Client

from bench.common import MiB, bench_user, median, ratio, table, write_random_file
from bench.link import ShapedLink
from bench.services import ROOT, CpuAccount, Services
from bench.transfer import ready_figures
from uploads.client import S7Client
from uploads.core.models import Upload
from uploads.core.plan import plan_parts
from uploads.storage import objects

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
CLIENT_WORKERS = 8
TIMEOUT_MS = 600_000
CHROMIUM = "/usr/bin/chromium"
# (name, upload Mbit/s, round trip ms, whether the file is the slow line's smaller one)
LINKS = (
    ("the seed's line", 428, 40, False),
    ("a home line", 20, 80, True),
    ("far from the bucket", 428, 150, False),
)

# Installed on S7's demo page before the file is picked: when Uppy reports the transfer done
# (every part stored and the complete request answered) and when the field shows an end state.
S7_HOOKS = """() => {
    window.benchMarks = {}
    performance.setResourceTimingBufferSize(20000)
    const input = document.querySelector('#id_version_file')
    input.s7Uploader.uppy.on('upload-success', () => { window.benchMarks.transferred = performance.now() })
    const root = document.querySelector('#id_version_file-uploader')
    new MutationObserver(() => {
        const state = root.dataset.s7State
        if ((state === 'ready' || state === 'failed') && !window.benchMarks.ended) {
            window.benchMarks.ended = performance.now()
            window.benchMarks.state = state
            window.benchMarks.error = state === 'failed' ? root.textContent : ''
        }
    }).observe(root, { attributes: true, attributeFilter: ['data-s7-state'] })
}"""
PART_PUTS = """() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('partNumber='))
    .map((e) => [e.startTime, e.responseEnd])"""
FIRST_PART_PUT = """() => {
    const puts = performance.getEntriesByType('resource').filter((e) => e.name.includes('partNumber='))
    return puts.length ? Math.min(...puts.map((e) => e.startTime)) : null
}"""


def build_stock_bundle(out: Path) -> Path:
    """esbuild, from S7's node_modules, bundles the stock page's script (not part of S7)."""
    frontend = ROOT / "frontend"
    subprocess.run(
        [str(frontend / "node_modules" / ".bin" / "esbuild"),
         str(ROOT / "bench" / "stockuppy" / "stock-uploader.js"), "--bundle", "--minify",
         "--format=iife", "--target=es2022", "--log-level=warning", f"--outfile={out}"],
        check=True, env={**os.environ, "NODE_PATH": str(frontend / "node_modules")},
    )  # fmt: skip
    return out


def _session_cookie(user, url: str) -> dict:
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


def _main_thread_seconds(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics.get("TaskDuration", 0.0)


def _page_run(browser, web_url, cookie, path, hooks, ended_js) -> dict:
    context = browser.new_context(base_url=web_url, viewport={"width": 1000, "height": 1000})
    try:
        context.add_cookies([cookie])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(path)
        return hooks(page, ended_js)
    finally:
        context.close()


def _drive(page, picker: str, ended_js: str, file: Path) -> dict:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    busy_before = _main_thread_seconds(cdp)
    started = page.evaluate("performance.now()")
    # The main thread's work and every process's CPU are counted until the transfer ends, on
    # both pages alike.
    with CpuAccount() as cpu:
        page.locator(picker).first.set_input_files(str(file))
        page.wait_for_function(
            "() => window.benchMarks.transferred || window.benchMarks.error",
            polling=100, timeout=TIMEOUT_MS,
        )  # fmt: skip
    busy = _main_thread_seconds(cdp) - busy_before
    page.wait_for_function(ended_js, polling=200, timeout=TIMEOUT_MS)
    marks = page.evaluate("window.benchMarks")
    first_put = page.evaluate(FIRST_PART_PUT)
    puts = page.evaluate(PART_PUTS)
    return {
        "marks": marks,
        "transfer": (marks["transferred"] - started) / 1000 if marks.get("transferred") else None,
        "ended": (marks["ended"] - started) / 1000 if marks.get("ended") else None,
        "first_put": (first_put - started) / 1000 if first_put is not None else None,
        "main_thread": busy,
        "cpu": cpu.seconds(),
        "load": os.getloadavg()[0],
        "puts": [((a - started) / 1000, (b - started) / 1000) for a, b in puts],
    }


def _without_round_trip(route) -> None:
    """Passes the page's create request on without its round-trip hint: parts as planned for
    a client that gives none."""
    request = route.request
    if request.method != "POST":
        return route.continue_()
    body = json.loads(request.post_data or "{}")
    body.pop("round_trip_ms", None)
    return route.continue_(post_data=json.dumps(body))


def _s7_page_run(browser, web_url, cookie, file: Path, user, *, hint: bool = True) -> dict:
    def hooks(page, ended_js):
        if not hint:
            page.route("**/api/uploads/", _without_round_trip)
        for field in ("version_file", "screenshot"):
            page.wait_for_selector(f'#id_{field}-uploader[data-s7-state="idle"]')
        page.evaluate(S7_HOOKS)
        return _drive(
            page, "#id_version_file-uploader input.uppy-Dashboard-input[name='files[]']",
            ended_js, file,
        )  # fmt: skip

    run = _page_run(
        browser, web_url, cookie, "/uploads/demo/", hooks, "() => window.benchMarks.ended"
    )
    if run["marks"].get("state") != "ready":
        raise RuntimeError(f"S7's page ended {run['marks']}")
    upload = Upload.objects.filter(owner=user).order_by("-created_at").first()
    # The worker's share (the complete request's hand-over → ready), and the SHA-256 stored
    # after ready: the next run starts once it is.
    run.update(ready_figures(str(upload.pk)))
    objects.delete_object(upload.key)
    run["part_size"] = upload.part_size
    return run


def _stock_page_run(browser, web_url, cookie, file: Path, part_size: int) -> dict:
    def hooks(page, ended_js):
        page.wait_for_selector(
            "#stock input.uppy-Dashboard-input[name='files[]']", state="attached"
        )
        page.evaluate("() => performance.setResourceTimingBufferSize(20000)")
        return _drive(page, "#stock input.uppy-Dashboard-input[name='files[]']", ended_js, file)

    run = _page_run(
        browser, web_url, cookie, f"/bench/stock/?part_size={part_size}", hooks,
        "() => document.body.dataset.state",
    )  # fmt: skip
    if run["marks"].get("error") or not run["marks"].get("key"):
        raise RuntimeError(f"stock Uppy's page ended {run['marks']}")
    objects.delete_object(run["marks"]["key"])
    return run


def _client_run(services: Services, token: str, file: Path) -> dict:
    client = S7Client(services.web.url, token, workers=CLIENT_WORKERS, progress=False)
    result = client.upload(str(file), purpose="version_file", resume=False, wait=True)
    assert result.state == "ready", result.error
    ready_figures(result.id)
    objects.delete_object(Upload.objects.get(pk=result.id).key)
    return {
        "transfer": result.upload_seconds,
        "ended": result.upload_seconds + result.ready_seconds,
    }


def run(services: Services, sizes, workdir: Path) -> tuple[str, dict]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls between browser
    # steps are plain synchronous calls all the same.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user, token = bench_user("bench-browser")
    web_url = services.web.url
    build_stock_bundle(Path(os.environ["BENCH_STOCK_UPPY_JS"]))
    # The page PUTs parts straight to S3: the bucket's CORS rule must name its origin.
    settings.UPLOADS_CORS_ORIGINS = [web_url]
    call_command("s3_setup", stdout=open(os.devnull, "w"))

    size = sizes.file_mib * MiB
    file = write_random_file(workdir / "browser-upload.bin", size)
    warm = write_random_file(workdir / "browser-warm.bin", 2 * MiB)
    part_size = plan_parts(size).part_size
    s7_runs, stock_runs, client_runs = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            cookie = _session_cookie(user, web_url)
            # A first run of each page warms gunicorn's workers, the browser and its caches.
            for _ in range(sizes.warm_up):
                _s7_page_run(browser, web_url, cookie, warm, user)
                _stock_page_run(browser, web_url, cookie, warm, part_size)
            for _ in range(sizes.repeat if not os.environ.get("BENCH_LINKS_ONLY") else 0):
                s7_runs.append(_s7_page_run(browser, web_url, cookie, file, user))
                stock_runs.append(_stock_page_run(browser, web_url, cookie, file, part_size))
                client_runs.append(_client_run(services, token, file))
            outage = outage_runs(browser, web_url, cookie, user, workdir, smoke=size < 64 * MiB)
        finally:
            browser.close()
        links_text, link_figures = _shaped_link_runs(playwright, web_url, user, sizes, workdir)
    if not s7_runs:
        return links_text, link_figures

    def rate(runs, key):
        return median([size / MiB / r[key] for r in runs])

    def seconds(runs, key):
        return ", ".join(f"{r[key]:.2f}" for r in runs)

    stock_rate = rate(stock_runs, "transfer")
    figures = {
        "s7_transfer_rate": rate(s7_runs, "transfer"),
        "stock_transfer_rate": stock_rate,
        "client_transfer_rate": rate(client_runs, "transfer"),
        "s7_ready_rate": rate(s7_runs, "ended"),
        **link_figures,
    }
    rows = [
        ["stock `@uppy/aws-s3`, no checksums (baseline)", seconds(stock_runs, "transfer"),
         f"{stock_rate:,.0f}", "1.00×", "—", "—",
         f"{median([r['first_put'] for r in stock_runs]) * 1000:,.0f}",
         f"{median([r['main_thread'] for r in stock_runs]):.2f}"],
        ["S7's uploader (SHA-256 per part, in Web Workers)", seconds(s7_runs, "transfer"),
         f"{figures['s7_transfer_rate']:,.0f}", ratio(figures["s7_transfer_rate"], stock_rate),
         seconds(s7_runs, "ended"), ratio(figures["s7_ready_rate"], stock_rate),
         f"{median([r['first_put'] for r in s7_runs]) * 1000:,.0f}",
         f"{median([r['main_thread'] for r in s7_runs]):.2f}"],
        ["S7's Python client (8 parts in flight)", seconds(client_runs, "transfer"),
         f"{figures['client_transfer_rate']:,.0f}",
         ratio(figures["client_transfer_rate"], stock_rate), seconds(client_runs, "ended"),
         ratio(rate(client_runs, "ended"), stock_rate), "—", "—"],
    ]  # fmt: skip
    text = table(
        ["", "transfer (s, each run)", "MiB/s (median)", "ratio to stock", "to ready (s)",
         "ratio to stock's transfer", "first part PUT after pick (ms)",
         "page main thread busy (s)"],
        rows,
    )  # fmt: skip
    kinds = sorted(
        {kind for r in stock_runs + s7_runs for kind in r["cpu"]},
        key=lambda kind: -median([r["cpu"].get(kind, 0.0) for r in s7_runs]),
    )
    cpu_rows = [
        [name, *(f"{median([r['cpu'].get(kind, 0.0) for r in runs]):.2f}" for kind in kinds),
         f"{median([sum(r['cpu'].values()) for r in runs]):.2f}"]
        for name, runs in (("stock Uppy", stock_runs), ("S7's uploader", s7_runs))
    ]  # fmt: skip
    ready_lag = median([r["ended"] - r["transfer"] for r in s7_runs])
    worker_time = median([r["worker"] for r in s7_runs])
    text += (
        f"\n\n{sizes.file_mib:,} MiB file of random bytes, parts of {part_size // MiB} MiB, "
        f"{sizes.repeat} run(s) of each way, alternating. Headless Chromium (a fresh context "
        "per run) picks the file on the page; the transfer ends when Uppy reports the upload "
        "done (every part stored and the complete request answered: stock Uppy's complete "
        "assembles the object on S3 in the request, S7's hands it to the worker). S7's "
        '"ready" comes after the worker assembled the object and checked its size, S3\'s '
        f"checksum of its parts and its type: {ready_lag:.2f} s after the transfer (median), of "
        f"which the worker took {worker_time:.2f} s (completing → ready, from the upload's timestamps); "
        "the rest is the page's polling. Main-thread time is Chromium's TaskDuration for the "
        "page from the pick to the end of the transfer (Web Workers not included). Targets: S7's "
        "transfer ≥ 0.9× stock Uppy's; \"ready\" no more than the worker's verification later."
    )
    text += (
        "\n\nWhere the machine's time went from the pick to the end of the transfer: CPU seconds "
        "of every process of each kind (median of the runs; /proc sampled every 100 ms). S7's "
        "uploader reads every part once more and hashes it (in the renderer's Web Workers), and "
        "SeaweedFS checks each part's signed SHA-256 as AWS would, on the same two cores that "
        "stock Uppy's transfer already keeps busy.\n\n" + table(["", *kinds, "all"], cpu_rows)
    )
    text += "\n\n**Time to ready.**\n\n" + ready_table(s7_runs, client_runs, size)
    text += "\n\n**An outage that heals itself.**\n\n" + outage
    return text + "\n\n" + links_text, figures


# --- Time to ready ---------------------------------------------------------------------------


def ready_table(s7_runs, client_runs, size: int) -> str:
    """Transfer end → ready as the page and the Python client see it, and the worker's share."""

    def row(name, runs):
        lags = [r["ended"] - r["transfer"] for r in runs]
        worker = [r["worker"] for r in runs if "worker" in r]
        return [
            name, f"{size // MiB:,} MiB", ", ".join(f"{lag:.2f}" for lag in lags),
            f"{median(lags):.2f}", f"{median(worker):.2f}" if worker else "—",
            ", ".join(f"{r['sha256_after_ready']:.1f}" for r in runs if "sha256_after_ready" in r)
            or "—",
        ]  # fmt: skip

    return table(
        [
            "",
            "file",
            "transfer end → ready (s, each run)",
            "median (s)",
            "worker's share (s, median)",
            "SHA-256 stored after ready (s)",
        ],
        [row("S7's page", s7_runs), row("S7's Python client", client_runs)],
    ) + (  # fmt: skip
        "\n\nThe page's transfer ends when Uppy reports the upload done (the complete request "
        "answered); ready is when the field shows it. The worker's share runs from the complete "
        "request's hand-over to the ready transition (CompleteMultipartUpload, HeadObject with "
        "the composite SHA-256 of the signed parts, two ranged reads to sniff the type); the "
        "rest is the task's pick-up and the polling. The whole file's SHA-256 comes after ready, "
        "in a task of its own. Target: ≤ 0.5 s."
    )


# --- An outage that heals itself -------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    file_mib: int
    up_mbit: float
    latency_ms: int
    cut_after_s: float  # after the pick
    seconds: float

    @property
    def link(self) -> dict:
        return {
            "latency": self.latency_ms,
            "uploadThroughput": self.up_mbit * 1e6 / 8,
            "downloadThroughput": -1,
        }


HOME_LINE_OUTAGE = Outage(file_mib=64, up_mbit=20, latency_ms=80, cut_after_s=8, seconds=30)
# --smoke's sizes: the same run in seconds, so that it cannot rot.
SMOKE_OUTAGE = Outage(file_mib=12, up_mbit=100, latency_ms=20, cut_after_s=0.3, seconds=2)


def _part_number(url: str) -> int | None:
    found = parse_qs(urlparse(url).query).get("partNumber")
    return int(found[0]) if found else None


def _outage_page_run(browser, web_url, cookie, path, prepare, picker, file, outage, cut) -> dict:
    """One upload through the emulated link (DevTools' network emulation of the page), going
    offline ``outage.cut_after_s`` after the pick for ``outage.seconds`` when ``cut``."""
    context = browser.new_context(base_url=web_url, viewport={"width": 1000, "height": 1000})
    try:
        context.add_cookies([cookie])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        network = context.new_cdp_session(page)
        network.send("Network.enable")
        network.send("Network.emulateNetworkConditions", {"offline": False, **outage.link})
        puts = Counter()
        page.on(
            "request",
            lambda request: (
                request.method == "PUT"
                and (number := _part_number(request.url))
                and puts.update([number])
            ),
        )
        page.goto(path)
        prepare(page)
        started = page.evaluate("performance.now()")
        page.locator(picker).first.set_input_files(str(file))
        waiting_shown = False
        if cut:
            page.wait_for_timeout(outage.cut_after_s * 1000)
            network.send("Network.emulateNetworkConditions", {"offline": True, **outage.link})
            page.wait_for_timeout(outage.seconds * 1000)
            waiting_shown = "Waiting for the connection" in page.content()
            network.send("Network.emulateNetworkConditions", {"offline": False, **outage.link})
        page.wait_for_function(
            "() => window.benchMarks.transferred || window.benchMarks.error",
            polling=100, timeout=TIMEOUT_MS,
        )  # fmt: skip
        marks = page.evaluate("window.benchMarks")
        ended = marks.get("transferred")
        return {
            "marks": marks,
            "transfer": (ended - started) / 1000 if ended else None,
            "puts": puts,
            "waiting_shown": waiting_shown,
        }
    finally:
        context.close()


def outage_runs(browser, web_url, cookie, user, workdir: Path, *, smoke: bool) -> str:
    """S7's page and stock Uppy on the home line, each without and with an outage: the time
    the outage cost beyond its own length, and the part PUTs started more than once."""
    outage = SMOKE_OUTAGE if smoke else HOME_LINE_OUTAGE
    size = outage.file_mib * MiB
    file = write_random_file(workdir / "outage.bin", size)
    plan = plan_parts(size)

    def s7(cut):
        def prepare(page):
            for field in ("version_file", "screenshot"):
                page.wait_for_selector(f'#id_{field}-uploader[data-s7-state="idle"]')
            page.evaluate(S7_HOOKS)

        run = _outage_page_run(
            browser, web_url, cookie, "/uploads/demo/", prepare,
            "#id_version_file-uploader input.uppy-Dashboard-input[name='files[]']", file, outage,
            cut,
        )  # fmt: skip
        upload = Upload.objects.filter(owner=user).order_by("-created_at").first()
        if run["transfer"] is not None:
            run.update(ready_figures(str(upload.pk)))
        objects.delete_object(upload.key)
        return run

    def stock(cut):
        def prepare(page):
            page.wait_for_selector(
                "#stock input.uppy-Dashboard-input[name='files[]']", state="attached"
            )

        run = _outage_page_run(
            browser, web_url, cookie, f"/bench/stock/?part_size={plan.part_size}", prepare,
            "#stock input.uppy-Dashboard-input[name='files[]']", file, outage, cut,
        )  # fmt: skip
        if run["marks"].get("key"):
            objects.delete_object(run["marks"]["key"])
        return run

    rows = []
    for name, way in (("stock `@uppy/aws-s3` (baseline)", stock), ("S7's uploader", s7)):
        calm, cut = way(False), way(True)
        if cut["transfer"] is None:
            lost = "gave up: " + (cut["marks"].get("error") or "")[:80]
            beyond = "—"
        else:
            lost_s = cut["transfer"] - calm["transfer"]
            lost = f"{lost_s:.1f}"
            beyond = f"{lost_s - outage.seconds:+.1f}"
        again = {n: times - 1 for n, times in cut["puts"].items() if times > 1}
        twice_bytes = sum(plan.part_length(n) * extra for n, extra in again.items())
        rows.append(
            [name, f"{calm['transfer']:.1f}",
             f"{cut['transfer']:.1f}" if cut["transfer"] is not None else "—", lost, beyond,
             f"{sum(again.values())} ({twice_bytes / MiB:.0f} MiB)",
             "yes" if cut["waiting_shown"] else "no"]
        )  # fmt: skip
    file.unlink()
    return table(
        [
            "",
            "transfer, no outage (s)",
            "transfer with the outage (s)",
            "time lost (s)",
            f"lost beyond the outage's {outage.seconds:g} s",
            "part PUTs started again (bytes)",
            "says it waits for the connection",
        ],
        rows,
    ) + (  # fmt: skip
        f"\n\n{outage.file_mib} MiB file, parts of {plan.part_size // MiB} MiB, through "
        f"Chromium's network emulation of the page (DevTools `Network.emulateNetworkConditions`: "
        f"{outage.up_mbit:g} Mbit/s up, {outage.latency_ms} ms latency); offline "
        f"{outage.cut_after_s:g} s after the pick for {outage.seconds:g} s, then the same link "
        "again; no click. Time lost: the transfer with the outage less the same page's transfer "
        "without one, in the same run. A part PUT started again after the outage counts its "
        "whole part, an upper bound of the bytes sent twice (an attempt the offline browser "
        "refuses at once sends nothing). Target: S7 finishes by itself, losing no more than "
        "stock Uppy."
    )


def _put_timeline(runs) -> str:
    """When the first part left, how many parts were in flight on average while any was, and
    how long the transfer went on after the last part's answer (completion)."""
    figures = []
    for r in runs:
        first = min(a for a, _ in r["puts"])
        last = max(b for _, b in r["puts"])
        in_flight = sum(b - a for a, b in r["puts"]) / (last - first)
        figures.append((first, in_flight, r["transfer"] - last))
    return ", ".join(f"{median(column):.2f}" for column in zip(*figures, strict=True))


def _shaped_link_runs(playwright, web_url, user, sizes, workdir: Path) -> tuple[str, dict]:
    """Both pages again, the browser now behind each shaped link in turn (bench/link.py)."""
    unavailable = ShapedLink.available()
    if unavailable:
        return f"The shaped links were not measured: {unavailable}.", {}
    rows, figures = [], {}
    chosen = os.environ.get("BENCH_LINKS", "")  # e.g. "428/40,20/80": only these links
    for name, mbit, rtt_ms, slow in LINKS[: sizes.link_count]:
        if chosen and f"{mbit}/{rtt_ms}" not in chosen.split(","):
            continue
        size = (sizes.link_slow_file_mib if slow else sizes.link_file_mib) * MiB
        file = write_random_file(workdir / f"link-{mbit}-{rtt_ms}.bin", size)
        warm = write_random_file(workdir / "link-warm.bin", 1 * MiB)
        part_size = plan_parts(size).part_size
        s7_runs, stock_runs, unhinted_runs = [], [], []
        with ShapedLink(mbit, rtt_ms, workdir) as link:
            browser = playwright.chromium.launch(
                executable_path=str(link.wrapper(CHROMIUM)), args=CHROMIUM_ARGS
            )
            try:
                cookie = _session_cookie(user, web_url)
                for _ in range(sizes.warm_up):
                    _s7_page_run(browser, web_url, cookie, warm, user)
                    _stock_page_run(browser, web_url, cookie, warm, part_size)
                for _ in range(sizes.link_repeat):
                    s7_runs.append(_s7_page_run(browser, web_url, cookie, file, user))
                    stock_runs.append(_stock_page_run(browser, web_url, cookie, file, part_size))
                    unhinted_runs.append(
                        _s7_page_run(browser, web_url, cookie, file, user, hint=False)
                    )
            finally:
                browser.close()
        capacity = mbit * 1e6 / 8  # bytes a second
        key = f"{mbit}/{rtt_ms}"
        stock_time = median([r["transfer"] for r in stock_runs])
        ways = (
            ("stock `@uppy/aws-s3`", stock_runs, part_size),
            ("S7's uploader", s7_runs, s7_runs[0]["part_size"]),
            ("S7, no round-trip hint", unhinted_runs, unhinted_runs[0]["part_size"]),
        )
        for way, runs, parts in ways:
            share = median([size / r["transfer"] / capacity for r in runs])
            figures[f"link {key} {way} share"] = share
            rows.append([
                f"{name}: {mbit} Mbit/s up, {rtt_ms} ms, {size // MiB:,} MiB", way,
                f"{parts // MiB}", ", ".join(f"{r['transfer']:.2f}" for r in runs),
                f"**{share:.0%}**", ratio(stock_time, median([r["transfer"] for r in runs])),
                _put_timeline(runs), f"{median([r['load'] for r in runs]):.1f}",
            ])  # fmt: skip
        if os.environ.get("BENCH_LINK_DUMP"):
            with open(os.environ["BENCH_LINK_DUMP"], "a") as dump:
                dump.write(json.dumps({"link": key, "ways": [w[:2] for w in ways]}) + "\n")
    text = table(
        ["link and file", "", "parts (MiB)", "transfer (s, each run)", "share of the link",
         "speed / stock's", "first PUT after pick (s), parts in flight, after the last part (s)",
         "load average"],
        rows,
    )  # fmt: skip
    return (
        "On shaped links: Chromium runs in a network namespace whose only way to the web server "
        "and S3 is a link with the upload rate capped by the kernel's token bucket (tc tbf, a "
        "50 ms queue) and every packet delayed by half the round trip each way (bench/link.py), "
        "so the browser's own TCP meets the round trip. Share of the link: the file's bytes over "
        "the transfer time (pick to Uppy's upload-success, signing and completion included), "
        f"against the link's rate. {sizes.link_repeat} run(s) of each page per link, alternating; "
        "stock Uppy keeps 6 parts in flight, in parts of the default plan.\n\n" + text
    ), figures
