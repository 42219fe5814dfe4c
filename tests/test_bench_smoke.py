"""`make bench` cannot rot: every benchmark runs once here, on tiny sizes, with its own services."""

import subprocess
import sys

from bench.__main__ import TITLES
from tests.fixtures import ROOT


def test_every_benchmark_runs_and_writes_its_table(tmp_path):
    results = tmp_path / "results.md"

    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr[-5000:]
    text = results.read_text()
    assert "- CPU:" in text
    sections = text.split("\n## ")[1:]
    numbers = [section.split(".", 1)[0] for section in sections]
    assert numbers == [str(n) for n in sorted(TITLES)]
    for section in sections:
        assert "| --- |" not in section and "|---|" in section, section
        assert "nan" not in section, section
    assert "Errors: 0." in sections[3]
