"""Benchmark 14: hostile text, rendering and the pages that show it.

Part one renders each hostile text (Markdown and raw HTML built to make a parser or the
sanitizer do work that grows faster than the text: nested brackets, lists and quotes, emphasis
runs, link chains, unclosed formatting tags, wide tables…) of the longest item body a form takes,
against a plain body of the same length, in the same process. Each either renders or is refused
with a sentence; the time is what the save spends either way.

Part two is the server time (Django's test client: middleware, view, template, without the
network) of the item page and of /reviews/, each showing twenty reviews of the longest allowed
length, against the same pages with plain reviews of the same length. The hostile reviews are
the ones a form accepts (the slowest to render of those that render), and one written past the
forms (straight into the database, as the importer may) that cannot be rendered at all.
"""

from __future__ import annotations

import os
import time

from bench.common import bench_user, median, percentile, ratio, table

PLAIN_SENTENCE = "The quick brown fox jumps over the lazy dog, and the level ends. "
REVIEWS_ON_A_PAGE = 20


def _fill(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def plain_text(length: int) -> str:
    return _fill(PLAIN_SENTENCE, length)


def hostile_texts(length: int) -> dict[str, str]:
    """Texts of ``length`` characters, each made to cost a Markdown parser or an HTML sanitizer
    more than linear time."""
    half = length // 2
    columns = length // 8
    reopened = "<p>" + "".join(f"<b id={n}>" for n in range(length // 20)) + "</p>"
    texts = {
        "nested brackets [[[…a…]]]": ("[" * half + "a" + "]" * half)[:length],
        "open brackets [[[[…": "[" * length,
        "nested lists (- - - … a)": ("- " * half)[: length - 1] + "a",
        "nested ordered lists (1. 1. …)": ("1. " * (length // 3))[: length - 1] + "a",
        "nested quotes (> > > …)": ("> " * half)[: length - 1] + "a",
        "emphasis run *a*a*a…": _fill("*a", length),
        "nested emphasis ***…a…***": ("*" * half + "a" + "*" * half)[:length],
        "mixed emphasis *_a*_a…": _fill("*_a", length),
        "strikethrough run ~~a~~a…": _fill("~~a", length),
        "link chain [a](b)[a](b)…": _fill("[a](b)", length),
        "open links [a]([a](…": _fill("[a](", length),
        "nested links [[[a](b)](b)…": ("[" * (length // 5) + "a" + "](b)" * length)[:length],
        "open images ![a](![a](…": _fill("![a](", length),
        'link titles [a](b "…': _fill('[a](b "', length),
        "reference expansions [a][a]…": "[a]: https://example.org/"
        + "x" * (length // 4)
        + "\n\n"
        + _fill("[a]", length - length // 4 - 30),
        "backtick runs `a``a```a…": "".join("`" * n + "a" for n in range(1, length))[:length],
        "wide table, short rows": "|"
        + "a|" * columns
        + "\n|"
        + "-|" * columns
        + "\n"
        + _fill("a\n", length),
        "table delimiters -|:|:|…x": "-|" + _fill(":|", length - 3) + "x",
        "delimiter rows |-| on every line": _fill("|-|\n", length),
        "entities &#&#&#…": _fill("&#", length),
        "raw HTML <div><div>…": _fill("<div>", length),
        "raw HTML <b><i><u><s>…": _fill("<b><i><u><s>", length),
        "raw HTML <table><tr><td>…": _fill("<table><tr><td>", length),
        "raw HTML <p> unclosed…": _fill("<p>a", length),
        "raw HTML <li> unclosed…": _fill("<li>a", length),
        "raw HTML <b id=n> reopened per paragraph": reopened
        + _fill("<p>x", length - len(reopened)),
        "raw HTML <a><div>…": _fill("<a><div>", length),
        "raw HTML comments <!--…": _fill("<!--", length),
    }
    # Each exactly ``length`` characters: the ones built a little short end in blank lines.
    return {name: text[:length].ljust(length, "\n") for name, text in texts.items()}


def _render(text: str) -> tuple[float, float, bool]:
    """Wall and CPU seconds of one render, and whether it rendered. On a shared machine the CPU
    time is the steadier figure: it leaves out the time spent waiting for a core."""
    from items.markup import UnrenderableText, render_markdown

    started, started_cpu = time.perf_counter(), time.thread_time()
    try:
        render_markdown(text)
        rendered = True
    except UnrenderableText:
        rendered = False
    return time.perf_counter() - started, time.thread_time() - started_cpu, rendered


def _rendering_table(length: int, repeat: int) -> tuple[str, float, float]:
    plain = plain_text(length)
    _render(plain)  # the first call pays for imports and the URL resolver
    results = [_render(plain) for _ in range(repeat)]
    baseline, baseline_cpu = median([r[0] for r in results]), median([r[1] for r in results])
    rows = [
        [f"plain text (baseline), {len(plain):,} characters", f"{baseline * 1000:.2f}",
         f"{baseline_cpu * 1000:.2f}", "1.00", "rendered"]
    ]  # fmt: skip
    worst = worst_cpu = 0.0
    for name, text in hostile_texts(length).items():
        results = [_render(text) for _ in range(repeat)]
        seconds, cpu = median([r[0] for r in results]), median([r[1] for r in results])
        worst, worst_cpu = max(worst, seconds), max(worst_cpu, cpu)
        outcome = "rendered" if results[0][2] else "refused with a sentence"
        rows.append(
            [
                name.replace("|", "\\|"),
                f"{seconds * 1000:.2f}",
                f"{cpu * 1000:.2f}",
                ratio(seconds, baseline),
                outcome,
            ]
        )
    headers = ["text", "render time (ms, median)", "CPU (ms)", "ratio to plain", "outcome"]
    return table(headers, rows), worst, worst_cpu


def _slowest_accepted_review(length: int) -> str:
    from items.markup import render_markdown

    accepted = []
    for text in hostile_texts(length).values():
        try:
            started = time.perf_counter()
            render_markdown(text)
            accepted.append((time.perf_counter() - started, text))
        except ValueError:
            continue
    return max(accepted)[1]


def _item_with_reviews(name: str, bodies: list[str]):
    from items import services
    from items.models import Item, Review, Version

    owner, _ = bench_user("bench-text-owner")
    item = services.item_save(item=Item(owner=owner, name=name, body=bodies[0][:2000]))
    version = services.version_save(
        version=Version(item=item, name="1.0", link="https://example.org/a.zip")
    )
    for n, body in enumerate(bodies):
        reviewer, _ = bench_user(f"bench-text-reviewer-{n}")
        if n == len(bodies) - 1 and name.startswith("Hostile"):
            # Past the forms, as an import writes it: shown as plain text.
            Review.objects.create(
                version=version, user=reviewer, title=f"R{n}", body=body, rating=3
            )
        else:
            services.review_create(
                version=version, user=reviewer, title=f"R{n}", body=body, rating=3
            )
    return item


def _time_pages(paths: list[str], requests: int):
    """Wall and CPU seconds of each request to each path (CPU: this process's, so without the
    database's)."""
    from django.conf import settings
    from django.test import Client, override_settings

    client = Client(HTTP_HOST="127.0.0.1")
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    times: dict[str, list[float]] = {path: [] for path in paths}
    cpu: dict[str, list[float]] = {path: [] for path in paths}
    with override_settings(STORAGES=plain_static):
        for path in paths:
            assert client.get(path).status_code == 200
        for _ in range(requests):
            for path in paths:
                started, started_cpu = time.perf_counter(), time.thread_time()
                response = client.get(path)
                times[path].append(time.perf_counter() - started)
                cpu[path].append(time.thread_time() - started_cpu)
                assert response.status_code == 200, (path, response.status_code)
    return times, cpu


def run(services, sizes, workdir):
    from items.models import ITEM_BODY_MAX_LENGTH, REVIEW_BODY_MAX_LENGTH, Review

    body_length = sizes.text_length or ITEM_BODY_MAX_LENGTH
    review_length = sizes.text_length or REVIEW_BODY_MAX_LENGTH
    rendering, worst, worst_cpu = _rendering_table(body_length, sizes.text_repeat)

    hostile_body = _slowest_accepted_review(review_length)
    unrenderable = hostile_texts(review_length)["nested lists (- - - … a)"]
    hostile = _item_with_reviews(
        "Hostile reviews", [hostile_body] * (REVIEWS_ON_A_PAGE - 1) + [unrenderable]
    )
    plain = _item_with_reviews("Plain reviews", [plain_text(review_length)] * REVIEWS_ON_A_PAGE)
    # /reviews/ shows the newest twenty (the hostile ones), its second page the plain ones;
    # the four pages are asked in turn, so that each side meets the same moments of the machine.
    Review.objects.exclude(version__item=hostile).update(created_at="2000-01-01T00:00Z")
    sides = {
        "item page": (plain.get_absolute_url(), hostile.get_absolute_url()),
        "/reviews/": ("/reviews/?page=2", "/reviews/"),
    }
    wall, cpu = _time_pages([path for pair in sides.values() for path in pair], sizes.text_requests)

    page_rows = []
    for label, (plain_path, hostile_path) in sides.items():
        base = median(wall[plain_path])
        for side, path in (
            ("plain reviews (baseline)", plain_path),
            ("hostile reviews", hostile_path),
        ):
            page_rows.append(
                [f"{label}, {REVIEWS_ON_A_PAGE} {side}", f"{median(wall[path]) * 1000:.1f}",
                 f"{percentile(wall[path], 95) * 1000:.1f}", f"{median(cpu[path]) * 1000:.1f}",
                 ratio(median(wall[path]), base)]
            )  # fmt: skip
    text = "\n".join(
        [
            rendering,
            "",
            f"Each text is {body_length:,} characters (at full size, the longest item body a form "
            "takes); the "
            f"median of {sizes.text_repeat} renders, each the whole save-time path (Markdown, "
            f"the shape check, the sanitizer). Slowest: {worst * 1000:.1f} ms "
            f"({worst_cpu * 1000:.1f} ms of CPU). Target: under 50 ms each.",
            "",
            table(
                [
                    "page",
                    "server time (ms, median)",
                    "p95 (ms)",
                    "CPU (ms, median)",
                    "ratio to baseline",
                ],
                page_rows,
            ),  # fmt: skip
            "",
            f"Each page shows {REVIEWS_ON_A_PAGE} reviews of {review_length:,} characters (at full "
            "size, the longest a form takes): on the hostile side, nineteen of the text that is slowest to "
            "render among those that render, and one that cannot be rendered, written past the "
            "forms; on the baseline side, plain prose. "
            f"{sizes.text_requests} requests a page, the pages in turn ({REVIEWS_ON_A_PAGE} "
            "plain reviews are /reviews/'s second page). CPU is the bench process's (Django), "
            "without the database's. Target: under 50 ms.",
            "",
            f"Load average (1 min) when the measuring ended: {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores shared with other work; wall times include the waits for "
            "a core, CPU times do not.",
        ]
    )
    return text, {"worst_render": worst, "pages": wall}
