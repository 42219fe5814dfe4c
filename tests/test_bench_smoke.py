"""`make bench` cannot rot: every benchmark runs once here, on tiny sizes, with its own services.

The benchmarks run in a few groups, each a test of its own with one set of services, so that a
parallel run spreads them over its processes; a benchmark that no group names runs in the last
one. Benchmark 16 starts deployments of its own and needs none of these services: its whole
comparison runs in tests/s7/test_plan_limits.py, which asserts its outcome too.
"""

import subprocess
import sys

import pytest

from bench.__main__ import TITLES
from tests.fixtures import ROOT

GROUPS = [(1, 2, 3, 4, 5, 6, 7, 8, 10, 14, 15), (9, 13), (11, 12)]
RUN_BY_OTHER_TESTS = {16}
UNGROUPED = tuple(sorted(set(TITLES) - RUN_BY_OTHER_TESTS - {n for group in GROUPS for n in group}))
GROUPS += [UNGROUPED] if UNGROUPED else []


@pytest.mark.long(45)
@pytest.mark.parametrize("numbers", GROUPS, ids=lambda group: ",".join(map(str, group)))
def test_every_benchmark_runs_and_writes_its_table(tmp_path, numbers):
    results = tmp_path / "results.md"
    only = ",".join(map(str, numbers))

    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", only, "--out", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr[-5000:]
    text = results.read_text()
    assert "- CPU:" in text
    sections = {int(s.split(".", 1)[0]): s for s in text.split("\n## ")[1:]}
    assert sorted(sections) == list(numbers)
    for section in sections.values():
        assert "| --- |" not in section and "|---|" in section, section
        assert "nan" not in section, section
    if 4 in sections:
        assert "Errors: 0." in sections[4]
