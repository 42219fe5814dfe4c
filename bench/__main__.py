"""``python -m bench [--smoke] [--only 1,3] [--out FILE]``: run the benchmarks, write the tables.

Sizes come from BENCH_* environment variables (see bench/common.py Sizes); --smoke runs every
benchmark once on tiny sizes so that they cannot rot (tests/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Sizes, machine

TITLES = {
    1: "1. End-to-end upload: S7 against boto3's TransferManager, plain and with SHA-256",
    2: "2. Web-worker cost: the old way (form POST through Django) against S7",
    3: "3. Part-URL signing: the fast signer against botocore",
    4: "4. The API: each request alone, and signing under an open-loop load",
    5: "5. Completing a 10,000-part upload",
    6: "6. Screenshot renditions of a large JPEG",
    7: "7. The item page of an item with a million downloads",
    8: "8. The admin's analytics page over a year of data",
    9: "9. The worker dyno's memory: every process, large files and hostile images at once",
    10: "10. A 20 MB body refused before it is read",
    11: "11. The browser: S7's uploader against stock Uppy and the Python client",
    12: "12. Scale-out: two web processes and two workers against one of each",
    13: "13. The switch-over at the live site's scale: bulk import, rehearsal, final delta",
    14: "14. Hostile text: rendering and the pages that show it",
    15: "15. The API's lists at the live site's scale",
    16: "16. Heroku's plan limits: connections, clients and Redis memory",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, every benchmark once")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results.md"))
    args = parser.parse_args(argv)
    only = {int(n) for n in args.only.split(",") if n} or set(TITLES)
    sizes = Sizes.from_env(args.smoke)

    from bench.services import Services

    started = time.perf_counter()
    services = Services()
    sections: dict[int, str] = {}
    try:
        services.start()
        from bench import (
            analytics,
            apilists,
            browser,
            completion,
            connections,
            images,
            importer,
            itempage,
            limits,
            load,
            rendering,
            scaleout,
            signing,
            transfer,
            worker_memory,
        )

        with tempfile.TemporaryDirectory(prefix="s7-bench-files-") as folder:
            workdir = Path(folder)
            if only & {1, 2}:
                print("benchmarks 1 and 2: large file, three ways", file=sys.stderr)
                one, two, _ = transfer.run(services, sizes, workdir)
                sections[1], sections[2] = one, two
            benchmarks = (
                (3, signing),
                (4, load),
                (5, completion),
                (6, images),
                (7, itempage),
                (8, analytics),
                (9, worker_memory),
                (10, limits),
                (11, browser),
                (12, scaleout),
                (13, importer),
                (14, rendering),
                (15, apilists),
                (16, connections),
            )
            for number, module in benchmarks:
                if number in only:
                    print(f"benchmark {number}", file=sys.stderr)
                    sections[number] = module.run(services, sizes, workdir)[0]
    finally:
        services.stop()

    elapsed = time.perf_counter() - started
    kept = {n: text for n, text in _sections_in(Path(args.out)).items() if n not in sections}
    kept = kept if args.only else {}
    ran = (
        f" (benchmark {', '.join(map(str, sorted(sections)))} only; the others' sections are "
        "kept from the file's earlier run)"
        if kept
        else ""
    )
    out = [
        "# S7 benchmarks",
        "",
        f"`make bench` ({'--smoke, tiny sizes' if args.smoke else 'full sizes'}) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min in all{ran}. Every "
        "figure is compared with a baseline measured in the same run on this machine:",
        "",
        *machine(),
        "",
    ]
    for number in sorted(set(sections) | set(kept)):
        if number in sections:
            out += [f"## {TITLES[number]}", "", sections[number], ""]
        else:
            out += [kept[number].rstrip("\n"), ""]
    Path(args.out).write_text("\n".join(out))
    print(f"wrote {args.out} in {elapsed:.0f} s", file=sys.stderr)
    return 0


def _sections_in(path: Path) -> dict[int, str]:
    """The sections of an earlier results file, by number: a run of some benchmarks (--only)
    replaces theirs and keeps the others' last figures."""
    if not path.exists():
        return {}
    found = {}
    for section in path.read_text().split("\n## ")[1:]:
        number = section.split(".", 1)[0]
        if number.isdigit():
            found[int(number)] = "## " + section
    return found


if __name__ == "__main__":
    sys.exit(main())
