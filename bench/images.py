"""Benchmark 6: the two screenshot renditions of a large JPEG, S7's pipeline against the old one.

The old site (django-imagekit, ``ResizeToFit`` per rendition) decoded the whole image for each
rendition and resized it with LANCZOS. S7's ``make_renditions`` decodes once. Each measurement
runs in a fresh interpreter (``python -m bench.images WAY PATH``) so its peak RSS is its own.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import median, ratio, table

ROOT = Path(__file__).resolve().parent.parent
RENDITIONS = ((300, 400), (920, 1600))


def make_photo(path: Path, megapixels: int) -> Path:
    """A photo-like JPEG: gradients with noise, so that it does not compress to nothing."""
    from PIL import Image

    width = int((megapixels * 1_000_000 * 3 / 2) ** 0.5)
    height = megapixels * 1_000_000 // width
    size = (width, height)
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.effect_noise(size, 60)
    Image.merge("RGB", (red, green, blue)).save(path, "JPEG", quality=92)
    return path


def old_way(path: str) -> list[bytes]:
    from PIL import Image

    outputs = []
    for box in RENDITIONS:
        # imagekit's ImageSpec opens the source for every spec and hands a full decode to its
        # processors; ResizeToFit then resizes with Image.LANCZOS.
        image = Image.open(path)
        image.load()
        scale = min(box[0] / image.width, box[1] / image.height)
        resized = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.LANCZOS
        )
        out = io.BytesIO()
        resized.convert("RGB").save(out, "JPEG", quality=90)
        outputs.append(out.getvalue())
    return outputs


def s7_way(path: str):
    from uploads.worker.images import make_renditions

    with open(path, "rb") as f:
        return make_renditions(
            f, [(f"box{i}", width, height) for i, (width, height) in enumerate(RENDITIONS)]
        )


def _vm(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _measure(way: str, path: str) -> dict:
    import PIL.Image  # noqa: F401  imports are the interpreter's baseline, not the work

    import uploads.worker.images  # noqa: F401

    baseline = _vm("VmRSS")
    started = time.perf_counter()
    (old_way if way == "old" else s7_way)(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak": _vm("VmHWM"), "baseline": baseline}


def _in_fresh_process(way: str, path: Path) -> dict:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.images", way, str(path)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(finished.stdout)


def run(services, sizes, workdir):
    photo = make_photo(workdir / "photo.jpg", sizes.image_megapixels)
    old_runs, s7_runs = [], []
    for _ in range(sizes.image_repeat):
        old_runs.append(_in_fresh_process("old", photo))
        s7_runs.append(_in_fresh_process("s7", photo))
    old_time, s7_time = (
        median([r["seconds"] for r in old_runs]),
        median([r["seconds"] for r in s7_runs]),
    )
    old_growth = median([r["peak"] - r["baseline"] for r in old_runs]) / 2**20
    s7_growth = median([r["peak"] - r["baseline"] for r in s7_runs]) / 2**20
    old_peak = median([r["peak"] for r in old_runs]) / 2**20
    s7_peak = median([r["peak"] for r in s7_runs]) / 2**20
    text = table(
        ["pipeline", "time (s, median)", "peak RSS (MiB)", "peak RSS growth over imports (MiB)"],
        [
            ["old: full decode + LANCZOS per rendition, twice (baseline)", f"{old_time:.2f}",
             f"{old_peak:.0f}", f"{old_growth:.0f}"],
            ["S7: uploads.worker.images.make_renditions", f"{s7_time:.2f}", f"{s7_peak:.0f}", f"{s7_growth:.0f}"],
            ["S7 speed-up / memory ratio", ratio(old_time, s7_time), ratio(s7_peak, old_peak),
             ratio(s7_growth, old_growth)],
        ],
    )  # fmt: skip
    text += (
        f"\n\nA {sizes.image_megapixels} MP JPEG ({photo.stat().st_size / 2**20:.1f} MiB), renditions "
        "300×400 and 920×1600 at quality 90; each run in a fresh interpreter, "
        f"{sizes.image_repeat} run(s) each. Targets: ≥ 2× faster, ≤ ½ the memory (growth)."
    )
    return text, {"image_speedup": old_time / s7_time, "image_memory_ratio": s7_growth / old_growth}


if __name__ == "__main__":
    print(json.dumps(_measure(sys.argv[1], sys.argv[2])))
