"""Image renditions: from the bytes of an uploaded image to JPEGs fitted to given boxes.

Pure on purpose: no S3 and no Django. The worker reads the original object, calls
``make_renditions`` and stores what comes back. Whatever an uploader sends ends in one of two
ways: renditions, or ``ImageRejected`` carrying a sentence that can be shown to them.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from PIL import ExifTags, Image

JPEG_QUALITY = 90

# A 24-megapixel camera photo must pass and a decompression bomb must not (Pillow's default is
# about the same). A JPEG this large is decoded at reduced size (libjpeg's draft mode), so its
# pixels stay small whatever their count; a progressive one still costs its coefficients (see
# jpeg_coefficient_bytes).
MAX_PIXELS = 90_000_000

# Pillow checks the size inside Image.open, before this module sees it; pinning the process-wide
# limit to ours makes that check refuse exactly what ours refuses.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Pillow's format names; "MPO" (a camera JPEG with a second picture) is decoded as a JPEG.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
_SNIFF_BYTES = 16
_DRAFT_GAP = 2
_REDUCING_GAP = 3
_TILE_SIDE = 1024

_NOT_AN_IMAGE = "This file is not a JPEG, PNG, GIF or WebP image."
_DAMAGED = "The image file is damaged or incomplete."

# What Pillow's JPEG, PNG, GIF and WebP code raises on bad data; 100,000 randomly mangled files
# raised nothing else.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {5, 6, 7, 8}

Box = tuple[float, float, float, float]

MiB = 1024 * 1024

# Formats that libjpeg can decode at 1/2, 1/4 or 1/8 scale; every other one is decoded whole.
REDUCED_DECODING_FORMATS = ("JPEG",)


@dataclass(frozen=True)
class ImageLimits:
    """What an image may cost, checked from its header before any pixel is decoded.

    ``max_pixels`` holds for formats decoded at reduced size (JPEG), ``max_pixels_decoded_whole``
    for the others (PNG, GIF, WebP), whose every pixel is held in memory at once: at 4 bytes a
    pixel (Pillow keeps RGB and RGBA alike in 32 bits), a 9,400×9,400 PNG takes 353 MB.
    ``memory_budget`` bounds what the decoder holds whatever the format: the decoded image as
    Pillow keeps it (a 16-bit or RGBA image costs more per pixel), plus, for a progressive or
    multi-scan JPEG, libjpeg's coefficients of the whole image at full size.
    """

    max_pixels: int = MAX_PIXELS
    max_pixels_decoded_whole: int = 24_000_000
    memory_budget: int = 96 * MiB

    def max_pixels_for(self, format: str) -> int:
        if format in REDUCED_DECODING_FORMATS:
            return self.max_pixels
        return min(self.max_pixels, self.max_pixels_decoded_whole)


DEFAULT_LIMITS = ImageLimits()


class ImageRejected(Exception):
    """The file cannot become image renditions; ``str(error)`` is meant for the uploader.

    ``code`` is one of ``"not_an_image"``, ``"too_large"`` or ``"damaged"``.
    """

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    data: bytes
    content_type: ClassVar[str] = "image/jpeg"


@dataclass(frozen=True)
class RenditionResult:
    format: str  # one of ALLOWED_FORMATS, as the file's magic bytes say
    width: int  # as displayed, that is after EXIF orientation
    height: int
    renditions: tuple[Rendition, ...]  # in the order they were asked for

    def rendition(self, name: str) -> Rendition:
        for rendition in self.renditions:
            if rendition.name == name:
                return rendition
        raise KeyError(name)


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


# libjpeg decodes sequential (baseline, extended) and progressive frames, Huffman or arithmetic
# coded; the DCT is what draft mode scales. Lossless and hierarchical frames are neither scaled
# nor shown by browsers.
_SEQUENTIAL_SOF = (0xC0, 0xC1, 0xC9)
_PROGRESSIVE_SOF = (0xC2, 0xCA)
_OTHER_SOF = (0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF)
# Markers that stand alone, without a length: TEM, RST0…RST7, SOI.
_STANDALONE_MARKERS = (0x01, *range(0xD0, 0xD8), 0xD8)
_COEFFICIENT_BLOCK_BYTES = 64 * 2  # libjpeg's JBLOCK: 8×8 coefficients of 16 bits
_UNSUPPORTED_JPEG = (
    "This JPEG is lossless or hierarchical, which browsers cannot show; save it as an ordinary "
    "JPEG."
)


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


def _assumed_progressive(image: Image.Image) -> JpegFrame:
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


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled to fit within ``box``, keeping its aspect ratio and never enlarged.

    No side is ever 0: a 20000×100 banner fitted to 300×400 is 300×2, not 300×1.5 rounded down.
    """
    width, height = size
    scale = min(box[0] / width, box[1] / height, 1.0)
    return (
        min(box[0], max(1, int(width * scale + 0.5))),
        min(box[1], max(1, int(height * scale + 0.5))),
    )


# (name, width, height): a rendition's name and the box it is fitted into.
RenditionBox = tuple[str, int, int]


def make_renditions(
    source: bytes | BinaryIO,
    boxes: Sequence[RenditionBox],
    limits: ImageLimits = DEFAULT_LIMITS,
) -> RenditionResult:
    """Decode the image in ``source`` once and encode one rendition per box of ``boxes``.

    ``source`` is bytes or a binary file object, read from its start. Raise ``ImageRejected``
    for anything that is not a sound JPEG, PNG, GIF or WebP image within ``limits``.
    """
    fp = _seekable(source)
    fp.seek(0)
    format = sniff_image_format(fp.read(_SNIFF_BYTES))
    fp.seek(0)
    if format is None:
        # EPS, SVG, PSD, HTML, ZIP… never reach a Pillow decoder at all.
        raise ImageRejected(_NOT_AN_IMAGE, code="not_an_image")

    # Not thread-safe (the filter list is process-wide), which a prefork worker does not mind.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Unreadable EXIF only costs the orientation (see _orientation); Pillow's complaints
        # about it would be noise in the worker's log.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
        try:
            # Only the decoder the magic bytes named may look at the file, so a polyglot cannot
            # be taken for something else further down Pillow's list.
            frame = read_jpeg_frame(fp) if format == "JPEG" else None
            if frame is not None and frame.marker in _OTHER_SOF:
                raise ImageRejected(_UNSUPPORTED_JPEG, code="not_an_image")
            with Image.open(fp, formats=[format]) as image:
                return _render(image, format, boxes, limits, frame)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_large(_pixels_in(str(error)), format, limits) from error
        except _DECODE_ERRORS as error:
            # UnidentifiedImageError is an OSError: the magic bytes promised a format and the
            # rest of the file did not keep that promise.
            raise ImageRejected(_DAMAGED, code="damaged") from error


def _seekable(source: bytes | BinaryIO) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source)
    seekable = getattr(source, "seekable", None)
    if seekable is not None and seekable():
        return source
    # An S3 StreamingBody cannot seek; decoders need to. Reading it here, outside the decoding,
    # also lets a network error surface as itself rather than as a damaged image.
    return io.BytesIO(source.read())


def decoded_bytes(image: Image.Image) -> int:
    """What Pillow will hold for the image once decoded, from its size and mode alone."""
    if image.mode in ("1", "L", "P"):
        per_pixel = 1
    elif image.mode.startswith("I;16"):
        per_pixel = 2
    else:  # RGB, RGBA, LA, CMYK, YCbCr, I, F…: 32 bits a pixel
        per_pixel = 4
    return image.width * image.height * per_pixel


def _check_limits(
    image: Image.Image, format: str, limits: ImageLimits, frame: JpegFrame | None = None
) -> None:
    # Pillow's own pixel check reads a process-wide setting that other code may loosen or set
    # to None, and knows nothing of formats: these are checked here, from the header.
    if image.width * image.height > limits.max_pixels_for(format):
        raise _too_large(image.width * image.height, format, limits)
    coefficients = jpeg_coefficient_bytes(frame) if frame is not None else 0
    needed = decoded_bytes(image) + coefficients
    if needed > limits.memory_budget:
        message = (
            f"This image is too large to process (it would take {needed / MiB:,.0f} MB of "
            f"memory to decode; the limit is {limits.memory_budget / MiB:,.0f} MB)."
        )
        if coefficients:
            kind = "progressive" if frame.progressive else "multi-scan"
            message = (
                f"This image is too large to process (as a {kind} JPEG it would take "
                f"{needed / MiB:,.0f} MB of memory to decode; the limit is "
                f"{limits.memory_budget / MiB:,.0f} MB). Saved as a baseline JPEG, or smaller, "
                "it can be."
            )
        raise ImageRejected(message, code="too_large")


def _render(
    image: Image.Image,
    format: str,
    boxes: Sequence[RenditionBox],
    limits: ImageLimits,
    frame: JpegFrame | None,
) -> RenditionResult:
    is_jpeg = format in REDUCED_DECODING_FORMATS
    if not is_jpeg:
        _check_limits(image, format, limits)
    elif image.width * image.height > limits.max_pixels_for(format):
        raise _too_large(image.width * image.height, format, limits)
    if not is_jpeg:
        # A PNG may keep its EXIF after the pixel data, so the orientation needs the decode.
        image.load()
    orientation = _orientation(image)
    swaps = orientation in _SWAPS_SIDES
    width, height = (image.height, image.width) if swaps else image.size
    sizes = {name: fit((width, height), (w, h)) for name, w, h in boxes}
    largest = max(sizes.values(), key=lambda size: size[0] * size[1])
    # Resampling happens before the transposition (a 920-pixel image is cheaper to turn than a
    # 24-megapixel one), so its target is the largest rendition in stored orientation.
    target = (largest[1], largest[0]) if swaps else largest

    box = None
    if is_jpeg and frame is None:
        frame = _assumed_progressive(image)
    if is_jpeg:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients, and draft
        # picks the smallest scale that covers the size asked. Asked for the target itself, a
        # 24-megapixel JPEG comes out at 1500×1000 with visible moiré on fine patterns; asked
        # for twice the target (as Image.thumbnail does) it comes out at 3000×2000 and matches a
        # full decode. Draft also returns the region of the reduced image that the original's
        # pixels map to, since its last row and column may be partial.
        drafted = image.draft(None, (target[0] * _DRAFT_GAP, target[1] * _DRAFT_GAP))
        if drafted is not None:
            box = drafted[1]
        # The size and mode draft chose are what libjpeg will decode into; a progressive file
        # also needs its coefficients at full size.
        _check_limits(image, format, limits, frame)
    image.load()

    reduced, box = _reduce(image, target, box)
    resized = _resize(reduced, target, box)
    if orientation in _TRANSPOSE:
        resized = resized.transpose(_TRANSPOSE[orientation])
    largest_image = _on_white(resized)

    renditions = []
    for name, _, _ in boxes:
        size = sizes[name]
        # Every box is inside the largest one, so the others come from the already reduced,
        # correctly resampled image; their sizes are fitted from the original to avoid drift.
        picture = largest_image if size == largest else _resize(largest_image, size, None)
        renditions.append(Rendition(name, *size, data=_jpeg(picture)))
    return RenditionResult(format=format, width=width, height=height, renditions=tuple(renditions))


def _orientation(image: Image.Image) -> int:
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except _DECODE_ERRORS:
        # Browsers show an image whose EXIF is unreadable as stored; so do we.
        return 1
    return orientation if orientation in _TRANSPOSE else 1


def _resampleable(image: Image.Image) -> Image.Image:
    """The image in L, LA, RGB or RGBA: modes that LANCZOS resamples with alpha premultiplied."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        # Pillow's conversion to 8 bits clips 16-bit values at 255 instead of scaling them,
        # which would turn a 16-bit grey PNG white.
        return image.convert("I").point(lambda value: value / 257).convert("L")
    has_transparency = image.info.get("transparency") is not None
    if mode in ("L", "LA", "RGB", "RGBA") and not has_transparency:
        return image
    if has_transparency or "A" in mode:
        # Palette and single-colour transparency become a real alpha channel; resampling a
        # palette would be nearest-neighbour only.
        return image.convert("RGBA")
    if mode == "1":
        return image.convert("L")
    # CMYK, YCbCr, P without transparency…: Pillow's conversions are sound for these.
    return image.convert("RGB")


def _reduce(image: Image.Image, size: tuple[int, int], box: Box | None) -> tuple[Image.Image, Box]:
    """The image in a mode LANCZOS can use, box-averaged by whole factors while 3× ``size`` remains.

    Also returns ``box``, the region the original's pixels cover, in the reduced image's scale.
    """
    box = box or (0, 0, image.width, image.height)
    # As Image.resize(reducing_gap=3) would do: far faster than LANCZOS alone and visually the
    # same, where a gap of 2 visibly loses detail. A drafted JPEG is already within 4× of the
    # target, so it is rarely reduced further.
    factor = (
        max(1, int((box[2] - box[0]) / size[0] / _REDUCING_GAP)),
        max(1, int((box[3] - box[1]) / size[1] / _REDUCING_GAP)),
    )
    if factor == (1, 1):
        return _resampleable(image), box

    # Tile by tile, because converting the whole image first (palette to RGBA, or RGBA to the
    # premultiplied RGBa that reduce works in) would hold a second full-size copy: for a
    # 24-megapixel RGBA PNG, 96 MB more. Tiles whose sides are multiples of the factor give
    # exactly the pixels a whole-image reduce would.
    step_x = factor[0] * max(1, _TILE_SIDE // factor[0])
    step_y = factor[1] * max(1, _TILE_SIDE // factor[1])
    reduced = None
    for top in range(0, image.height, step_y):
        for left in range(0, image.width, step_x):
            tile = image.crop(
                (left, top, min(left + step_x, image.width), min(top + step_y, image.height))
            )
            tile = _resampleable(tile).reduce(factor)
            if reduced is None:
                reduced_size = (-(-image.width // factor[0]), -(-image.height // factor[1]))
                reduced = Image.new(tile.mode, reduced_size)
            reduced.paste(tile, (left // factor[0], top // factor[1]))
    assert reduced is not None
    return reduced, (box[0] / factor[0], box[1] / factor[1], box[2] / factor[0], box[3] / factor[1])


def _resize(image: Image.Image, size: tuple[int, int], box: Box | None) -> Image.Image:
    if image.size == size and box in (None, (0, 0, *size)):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, box=box)


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if "A" not in image.mode:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", image.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _jpeg(image: Image.Image) -> bytes:
    # Pillow copies ``info`` through resize and convert, and its JPEG encoder writes a comment
    # found there; an empty ``info`` (with no exif/icc_profile passed) means no metadata at all.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _too_large(pixels: int | None, format: str, limits: ImageLimits) -> ImageRejected:
    limit = f"the limit is {limits.max_pixels_for(format) // 1_000_000} megapixels"
    if format not in REDUCED_DECODING_FORMATS and limits.max_pixels_for(format) < MAX_PIXELS:
        limit += " for PNG, GIF and WebP images"
    if pixels is None:
        message = f"This image is too large to process ({limit})."
    else:
        message = f"This image is too large to process ({_megapixels(pixels)} megapixels; {limit})."
    return ImageRejected(message, code="too_large")


def _megapixels(pixels: int) -> str:
    megapixels = pixels / 1_000_000
    return f"{megapixels:,.1f}" if megapixels < 100 else f"{megapixels:,.0f}"


def _pixels_in(message: str) -> int | None:
    # Pillow raises before the image object exists; its message is the only place the size is.
    match = re.search(r"\((\d+) pixels\)", message)
    return int(match.group(1)) if match else None
