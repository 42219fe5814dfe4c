"""Image decoding in a process of its own, under an address-space limit (RLIMIT_AS).

``image_limits.py`` refuses from the header what would cost more than the memory budget; this is the
backstop for whatever that estimate misses (a decoder's own buffers, a library's surprise). Each
image is decoded in a fresh process: the kernel refuses any mapping past ``address_space``, so a
decoder that wants more fails inside that process instead of growing the worker past its dyno's
memory, and every byte the decoding took is given back when it exits.

A fresh process per image costs a fork, not an interpreter's start and Pillow's import, which
matters when thousands of small screenshots come at once (the importer): a long-lived *fork
parent* (``python -m uploads.worker.image_child``) imports Pillow once and forks one decoder per
image. Fork parents are started on demand, one per image decoded at the same time, and kept
between images; one whose exchange went wrong is killed and replaced. Celery's pool children
are daemonic, which rules out ``multiprocessing``'s fork server there.

The parent sends a frame of arguments and a frame of the image; the decoder writes its answer
(one JSON frame, the result or the refusal's sentence and code, then one frame per rendition) to
a pipe, which the fork parent relays with the decoder's exit status. Nothing is unpickled: the
decoder has just read a stranger's file.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import logging
import os
import resource
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from uploads.worker.image_limits import ImageLimits, ImageRejected, MiB
from uploads.worker.images import Rendition, RenditionBox, RenditionResult, make_renditions

logger = logging.getLogger("uploads")

# The directory that holds the ``uploads`` package: the fork parent imports it from there.
_IMPORT_ROOT = Path(__file__).resolve().parent.parent.parent

# What a frame may weigh: the image is capped by its purpose (a few MiB) and an answer is a few
# JPEGs of a few hundred KB; a decoder that sends more is not believed.
_LARGEST_FRAME = 256 * MiB
_LENGTH = struct.Struct(">Q")

_PR_SET_PDEATHSIG = 1
_OUT_OF_MEMORY_EXIT = 3

_STOPPED = "This image could not be processed: its decoder stopped without an answer."


def _out_of_memory_sentence(address_space: int) -> str:
    return (
        "This image needs more memory to process than the worker allows for one image "
        f"({address_space / MiB:,.0f} MB)."
    )


class _DecoderLost(Exception):
    """The exchange with a fork parent broke off: it is killed, and the image fails."""


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
    status, answer = _exchange(arguments, data)
    if status == _OUT_OF_MEMORY_EXIT and address_space:
        raise ImageRejected(_out_of_memory_sentence(address_space), code="too_large")
    try:
        if status != 0:
            raise ValueError(status)
        return _result(answer)
    except (ValueError, KeyError, TypeError, struct.error):
        # Killed (the kernel's OOM killer, a crash in a C decoder), an error before it could
        # answer, or an answer that does not parse (a decoder the image took over may write
        # anything): the image is not processed, and the worker carries on.
        logger.warning("image decoder ended with status %s without an answer", status)
        raise ImageRejected(_STOPPED, code="damaged") from None


def _exchange(arguments: dict, data: bytes) -> tuple[int, bytes]:
    """The decoder's exit status and answer, through an idle fork parent or a new one."""
    parent, reused = _fork_parents.take()
    try:
        return _exchange_through(parent, arguments, data)
    except _DecoderLost:
        if reused:
            # It may have died while idle (the OOM killer, an operator): one more, new.
            try:
                return _exchange_through(_ForkParent(), arguments, data)
            except _DecoderLost:
                pass
        logger.warning("image decoder's fork parent ended without an answer")
        raise ImageRejected(_STOPPED, code="damaged") from None


def _exchange_through(parent: _ForkParent, arguments: dict, data: bytes) -> tuple[int, bytes]:
    try:
        answer = parent.decode(arguments, data)
    except BaseException:
        # A lost fork parent, or a time limit on the task (the worker's soft limit) that
        # interrupted the exchange: it is killed, with its decoder, before the exception goes on.
        parent.kill()
        raise
    _fork_parents.give_back(parent)
    return answer


def _result(answer: bytes) -> RenditionResult:
    frames = _split_frames(answer)
    header = json.loads(frames[0])
    if "rejected" in header:
        raise ImageRejected(header["rejected"], code=header["code"])
    renditions = tuple(
        Rendition(name, width, height, data=body)
        for (name, width, height), body in zip(header["renditions"], frames[1:], strict=True)
    )
    return RenditionResult(
        format=header["format"], width=header["width"], height=header["height"],
        renditions=renditions,
    )  # fmt: skip


class _ForkParent:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_IMPORT_ROOT,
        )

    def decode(self, arguments: dict, data: bytes) -> tuple[int, bytes]:
        """The decoder's exit status and its answer's frames."""
        try:
            _write_frame(self.process.stdin, json.dumps(arguments).encode())
            _write_frame(self.process.stdin, data)
            self.process.stdin.flush()
            status = json.loads(_read_frame(self.process.stdout))["status"]
            return status, _read_frame(self.process.stdout)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _DecoderLost from exc

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _ForkParents:
    """Idle fork parents: one is taken per image and given back when its exchange went well."""

    def __init__(self):
        self._idle: list[_ForkParent] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self) -> tuple[_ForkParent, bool]:
        """A fork parent, and whether it served an image before."""
        with self._lock:
            if self._pid != os.getpid():  # a forked copy of this process: those pipes are not ours
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                parent = self._idle.pop()
                if parent.alive():
                    return parent, True
                parent.kill()
        return _ForkParent(), False

    def give_back(self, parent: _ForkParent) -> None:
        with self._lock:
            self._idle.append(parent)


_fork_parents = _ForkParents()


# --- Frames ----------------------------------------------------------------------------------


def _frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError
    return data


def _read_frame(stream: BinaryIO) -> bytes:
    try:
        (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
        if size > _LARGEST_FRAME:
            raise ValueError(f"a frame of {size} bytes")
        return _read_exactly(stream, size)
    except EOFError as exc:
        raise OSError("the stream ended inside a frame") from exc


def _split_frames(blob: bytes) -> list[bytes]:
    frames, offset = [], 0
    while offset < len(blob):
        (size,) = _LENGTH.unpack_from(blob, offset)
        offset += _LENGTH.size
        if offset + size > len(blob):
            raise ValueError("a frame runs past the answer")
        frames.append(blob[offset : offset + size])
        offset += size
    if not frames:
        raise ValueError("an empty answer")
    return frames


# --- The fork parent and its decoders ----------------------------------------------------------


def main() -> None:
    """The fork parent: one request after another until its stdin ends."""
    _die_with_parent()
    Image.init()  # Pillow imports its format plugins on first use: once here, not per decoder
    # What is here now is shared with every decoder: kept out of the collector's sight, its
    # pages are not written to (and copied) by a decoder's collections.
    gc.freeze()
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            arguments = json.loads(_read_frame(requests))
            data = _read_frame(requests)
        except OSError:
            return  # the worker is gone, or let this fork parent go
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(readable)
            _decoder(arguments, data, writable)
        os.close(writable)
        del data
        answer = _read_answer(readable)
        if answer is None:
            os.kill(pid, signal.SIGKILL)
            answer = b""
        _, wait_status = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(wait_status)
        answers.write(_frame(json.dumps({"status": status}).encode()) + _frame(answer))
        answers.flush()


def _read_answer(readable: int) -> bytes | None:
    """Everything the decoder wrote, or None past ``_LARGEST_FRAME``."""
    chunks, size = [], 0
    with os.fdopen(readable, "rb", buffering=0) as pipe:
        while chunk := pipe.read(MiB):
            size += len(chunk)
            if size > _LARGEST_FRAME:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _decoder(arguments: dict, data: bytes, writable: int) -> None:
    """A forked decoder: the limit, the image, the answer; it never returns."""
    status = 1
    try:
        _die_with_parent()
        address_space = arguments["address_space"]
        _limit_address_space(address_space)
        header, bodies = _answer(arguments, data)
        del data
        with os.fdopen(writable, "wb") as answer:
            answer.write(_frame(json.dumps(header).encode()))
            for body in bodies:
                answer.write(_frame(body))
        status = 0
    except MemoryError:
        status = _OUT_OF_MEMORY_EXIT
    finally:
        os._exit(status)


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
        "renditions": [[r.name, r.width, r.height] for r in made.renditions],
    }
    return header, [r.data for r in made.renditions]


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent ends: a worker child killed at its hard
    time limit must not leave a fork parent or a decoder running on."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        pass  # not Linux: the fork parent ends with its stdin, the decoder by itself
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


if __name__ == "__main__":
    main()
