"""Image decoding in a process of its own, under an address-space limit (RLIMIT_AS).

``images.py`` refuses from the header what would cost more than the memory budget; this is the
backstop for whatever that estimate misses (a decoder's own buffers, a library's surprise). A
fresh interpreter that imports only Pillow decodes one image: the kernel refuses any mapping past
``address_space``, so a decoder that wants more fails inside this child instead of growing the
worker past its dyno's memory, and every byte the decoding took is given back when it exits.

The parent passes the image on stdin; the child answers on stdout with one JSON line (the result,
or the refusal's sentence and code) followed by the renditions' bytes. Nothing is unpickled: the
child has just read a stranger's file.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from uploads.worker.image_limits import ImageLimits, ImageRejected, MiB
from uploads.worker.images import Rendition, RenditionBox, RenditionResult, make_renditions

logger = logging.getLogger("uploads")

# The directory that holds the ``uploads`` package: the child imports it from there.
_IMPORT_ROOT = Path(__file__).resolve().parent.parent.parent


def _out_of_memory_sentence(address_space: int) -> str:
    return (
        "This image needs more memory to process than the worker allows for one image "
        f"({address_space / MiB:,.0f} MB)."
    )


_PR_SET_PDEATHSIG = 1

_STOPPED = "This image could not be processed: its decoder stopped without an answer."


def make_renditions_in_child(
    data: bytes, boxes: Sequence[RenditionBox], limits: ImageLimits, *, address_space: int
) -> RenditionResult:
    """``make_renditions(data, boxes, limits)`` in a child process whose address space is capped
    at ``address_space`` bytes (0: not capped). Raise ``ImageRejected`` as it does, and also when
    the child runs out of memory or dies."""
    arguments = {
        "boxes": [list(box) for box in boxes],
        "limits": {
            "max_pixels": limits.max_pixels,
            "max_pixels_decoded_whole": limits.max_pixels_decoded_whole,
            "memory_budget": limits.memory_budget,
        },
        "address_space": address_space,
    }
    # A time limit on the task (the worker's soft limit) interrupts this wait; subprocess.run
    # then kills the child before the exception goes on.
    finished = subprocess.run(
        [sys.executable, "-m", __name__, json.dumps(arguments)],
        input=data,
        capture_output=True,
        cwd=_IMPORT_ROOT,
        check=False,
    )
    header, _, body = finished.stdout.partition(b"\n")
    try:
        answer = json.loads(header)
    except ValueError:
        answer = None
    if finished.returncode != 0 or not isinstance(answer, dict):
        # Killed (the kernel's OOM killer, a crash in a C decoder) or an error before it could
        # answer: the image is not processed, and the worker carries on.
        logger.warning(
            "image decoder ended with status %s: %s",
            finished.returncode,
            finished.stderr[-2000:].decode(errors="replace"),
        )
        if address_space and b"MemoryError" in finished.stderr:
            raise ImageRejected(_out_of_memory_sentence(address_space), code="too_large")
        raise ImageRejected(_STOPPED, code="damaged")
    if "rejected" in answer:
        raise ImageRejected(answer["rejected"], code=answer["code"])
    renditions = []
    offset = 0
    for name, width, height, size in answer["renditions"]:
        renditions.append(Rendition(name, width, height, data=body[offset : offset + size]))
        offset += size
    return RenditionResult(
        format=answer["format"],
        width=answer["width"],
        height=answer["height"],
        renditions=tuple(renditions),
    )


def _errno_cell():
    """The calling thread's errno (glibc), or None: malloc reports its failures there, and a C
    decoder that runs out of memory tells Pillow only that the stream is broken."""
    try:
        location = ctypes.CDLL(None).__errno_location
    except (AttributeError, OSError):
        return None
    location.restype = ctypes.POINTER(ctypes.c_int)
    return location()


def _limit_address_space(address_space: int) -> None:
    if address_space:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            address_space = min(address_space, hard)
        resource.setrlimit(resource.RLIMIT_AS, (address_space, hard))


def _answer(arguments: dict, data: bytes) -> tuple[dict, list[bytes]]:
    boxes = [tuple(box) for box in arguments["boxes"]]
    limits = ImageLimits(**arguments["limits"])
    address_space = arguments["address_space"]
    errno_cell = _errno_cell()
    if errno_cell is not None:
        errno_cell[0] = 0
    try:
        made = make_renditions(data, boxes, limits)
    except MemoryError:
        return {"rejected": _out_of_memory_sentence(address_space), "code": "too_large"}, []
    except ImageRejected as rejected:
        if (
            rejected.code == "damaged"
            and address_space
            and errno_cell is not None
            and errno_cell[0] == errno.ENOMEM
        ):
            return {"rejected": _out_of_memory_sentence(address_space), "code": "too_large"}, []
        return {"rejected": str(rejected), "code": rejected.code}, []
    header = {
        "format": made.format,
        "width": made.width,
        "height": made.height,
        "renditions": [[r.name, r.width, r.height, len(r.data)] for r in made.renditions],
    }
    return header, [r.data for r in made.renditions]


def _die_with_parent() -> None:
    """Ask Linux to kill this child when its parent dies: a worker child killed at its hard time
    limit must not leave a decoder running on."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        pass  # not Linux: the decoder ends by itself
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def main() -> None:
    _die_with_parent()
    arguments = json.loads(sys.argv[1])
    # The input is read under the limit too: what counts is everything this process maps.
    _limit_address_space(arguments["address_space"])
    data = sys.stdin.buffer.read()
    header, bodies = _answer(arguments, data)
    del data
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    for body in bodies:
        out.write(body)
    out.flush()


if __name__ == "__main__":
    main()
