"""Benchmark 11: the browser uploader, three ways, on one large file in the same run.

Headless Chromium drives the real pages: S7's uploader (the demo page, every part hashed and
pinned by its SHA-256) and stock ``@uppy/aws-s3`` 5.x with plain presigned multipart (no
checksums, the bench-only endpoints of bench/stockuppy), same part size and 6 parts in flight;
the Python client sends the same file beside them. Runs alternate, so that a change in the
machine's load falls on every way alike.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test import Client

from bench.common import MiB, bench_user, median, ratio, table, write_random_file
from bench.services import ROOT, CpuAccount, Services
from uploads.client import S7Client
from uploads.core.models import Upload
from uploads.core.plan import plan_parts
from uploads.storage import s3

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
CLIENT_WORKERS = 8
TIMEOUT_MS = 600_000

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
    return {
        "marks": marks,
        "transfer": (marks["transferred"] - started) / 1000 if marks.get("transferred") else None,
        "ended": (marks["ended"] - started) / 1000 if marks.get("ended") else None,
        "first_put": (first_put - started) / 1000 if first_put is not None else None,
        "main_thread": busy,
        "cpu": cpu.seconds(),
    }


def _s7_page_run(browser, web_url, cookie, file: Path, user) -> dict:
    def hooks(page, ended_js):
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
    s3.delete_object(upload.key)
    # The worker's share: from the complete request's hand-over to ready.
    run["worker"] = (upload.ready_at - upload.completing_at).total_seconds()
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
    s3.delete_object(run["marks"]["key"])
    return run


def _client_run(services: Services, token: str, file: Path) -> dict:
    client = S7Client(services.web.url, token, workers=CLIENT_WORKERS, progress=False)
    result = client.upload(str(file), purpose="version_file", resume=False, wait=True)
    assert result.state == "ready", result.error
    s3.delete_object(Upload.objects.get(pk=result.id).key)
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
            _s7_page_run(browser, web_url, cookie, warm, user)
            _stock_page_run(browser, web_url, cookie, warm, part_size)
            for _ in range(sizes.repeat):
                s7_runs.append(_s7_page_run(browser, web_url, cookie, file, user))
                stock_runs.append(_stock_page_run(browser, web_url, cookie, file, part_size))
                client_runs.append(_client_run(services, token, file))
        finally:
            browser.close()

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
        '"ready" comes after the worker assembled the object and read it back to verify its '
        f"size, type and SHA-256: {ready_lag:.2f} s after the transfer (median), of which the "
        f"worker took {worker_time:.2f} s (completing → ready, from the upload's timestamps); "
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
    return text, figures
