"""What an image's first bytes and markers say before Pillow decodes it: the format its magic
bytes name, and for a JPEG its frame (sequential or progressive, its sampling), from which what
libjpeg will hold besides the pixels follows.

Imports only Pillow: it runs in the image decoder's child process too.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

# Pillow's format names; "MPO" (a camera JPEG with a second picture) is decoded as a JPEG.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
# Enough of a file's start for sniff_image_format.
SNIFF_BYTES = 16


def sniff_image_format(head: bytes) -> str | None:
    """The allowed format that ``head`` (the first 12 bytes or more of a file) starts like."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


@dataclass(frozen=True)
class JpegFrame:
    """What a JPEG's frame header (SOFn) and first scan header (SOS) say about its decoding."""

    marker: int  # 0xC0…0xCF, the SOFn marker's second byte
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # (horizontal, vertical) factors, one per component
    first_scan_components: int  # how many components the first scan carries

    @property
    def progressive(self) -> bool:
        return self.marker in _PROGRESSIVE_SOF

    @property
    def multi_scan(self) -> bool:
        """Whether libjpeg must hold the whole image's coefficients before it can output a row:
        a progressive file, or a sequential one whose first scan leaves components for later
        scans."""
        return self.progressive or self.first_scan_components < len(self.sampling)

    @property
    def lossless_or_hierarchical(self) -> bool:
        """Frames that libjpeg does not scale and browsers do not show."""
        return self.marker in _OTHER_SOF


# libjpeg decodes sequential (baseline, extended) and progressive frames, Huffman or arithmetic
# coded; the DCT is what draft mode scales. Lossless and hierarchical frames are neither scaled
# nor shown by browsers.
_SEQUENTIAL_SOF = (0xC0, 0xC1, 0xC9)
_PROGRESSIVE_SOF = (0xC2, 0xCA)
_OTHER_SOF = (0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF)
# Markers that stand alone, without a length: TEM, RST0…RST7, SOI.
_STANDALONE_MARKERS = (0x01, *range(0xD0, 0xD8), 0xD8)
_COEFFICIENT_BLOCK_BYTES = 64 * 2  # libjpeg's JBLOCK: 8×8 coefficients of 16 bits


def read_jpeg_frame(fp: BinaryIO) -> JpegFrame | None:
    """The frame of the JPEG in ``fp`` (read from its start, left where it was), from its markers
    alone; None when the markers end or break before the first scan."""
    position = fp.tell()
    try:
        fp.seek(0)
        return _read_jpeg_frame(fp)
    finally:
        fp.seek(position)


def _read_jpeg_frame(fp: BinaryIO) -> JpegFrame | None:
    # As libjpeg reads markers, since libjpeg is what decodes: bytes that are not a marker are
    # skipped, as are fill bytes before one.
    if fp.read(2) != b"\xff\xd8":
        return None
    frame = None
    while True:
        byte = fp.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = fp.read(1)
        while marker == b"\xff":
            marker = fp.read(1)
        if not marker or marker[0] == 0xD9:  # the end, before any scan
            return None
        kind = marker[0]
        if kind == 0x00 or kind in _STANDALONE_MARKERS:
            continue
        length_bytes = fp.read(2)
        if len(length_bytes) < 2 or struct.unpack(">H", length_bytes)[0] < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0] - 2
        if kind not in (*_SEQUENTIAL_SOF, *_PROGRESSIVE_SOF, *_OTHER_SOF, 0xDA):
            fp.seek(length, io.SEEK_CUR)
            continue
        body = fp.read(length)
        if len(body) < length:
            return None
        if kind == 0xDA:
            if frame is None or not body:
                return None
            return JpegFrame(**frame, first_scan_components=body[0])
        if frame is not None or len(body) < 6:
            return None  # libjpeg refuses a second frame
        height, width, count = struct.unpack(">HHB", body[1:6])
        factors = body[6 : 6 + 3 * count]
        if count == 0 or len(factors) < 3 * count:
            return None
        sampling = tuple(
            (factors[i + 1] >> 4, factors[i + 1] & 0x0F) for i in range(0, 3 * count, 3)
        )
        if any(h == 0 or v == 0 for h, v in sampling):
            return None
        frame = {"marker": kind, "width": width, "height": height, "sampling": sampling}


def assumed_progressive(image: Image.Image) -> JpegFrame:
    """The costliest reading of a JPEG whose markers Pillow understood and this module did not."""
    sampling = tuple((h, v) for _, h, v, _ in getattr(image, "layer", ()) if h and v)
    return JpegFrame(
        marker=0xC2,
        width=image.width,
        height=image.height,
        sampling=sampling or ((1, 1),) * len(image.getbands()),
        first_scan_components=1,
    )


def jpeg_coefficient_bytes(frame: JpegFrame) -> int:
    """What libjpeg holds besides the output for a JPEG of this frame: nothing to speak of for a
    single-scan sequential file (it decodes one row of blocks at a time); for a progressive or
    multi-scan one, every component's DCT coefficients at full size, whatever scale draft mode
    chose, since the rows can only be output once the last scan has been read."""
    if not frame.multi_scan:
        return 0
    most_h = max(h for h, _ in frame.sampling)
    most_v = max(v for _, v in frame.sampling)
    total = 0
    for h, v in frame.sampling:
        # As libjpeg sizes its whole-image arrays: blocks per component, rounded up to whole MCUs.
        columns = -(-frame.width * h // (most_h * 8))
        rows = -(-frame.height * v // (most_v * 8))
        total += (-(-columns // h) * h) * (-(-rows // v) * v) * _COEFFICIENT_BLOCK_BYTES
    return total
