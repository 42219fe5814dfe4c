"""Image renditions: from the bytes of an uploaded image to JPEGs fitted to given boxes.

Pure on purpose: no S3 and no Django. The worker reads the original object, calls
``make_renditions`` and stores what comes back. Whatever an uploader sends ends in one of two
ways: renditions, or ``ImageRejected`` carrying a sentence that can be shown to them.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from PIL import ExifTags, Image

from uploads.worker.image_header import (
    SNIFF_BYTES,
    JpegFrame,
    assumed_progressive,
    read_jpeg_frame,
    sniff_image_format,
)
from uploads.worker.image_limits import (
    DEFAULT_LIMITS,
    REDUCED_DECODING_FORMATS,
    ImageLimits,
    ImageRejected,
    check_limits,
    check_pixels,
    pixels_in,
    too_large,
)

JPEG_QUALITY = 90
_DRAFT_GAP = 2
_REDUCING_GAP = 3
_TILE_SIDE = 1024

_NOT_AN_IMAGE = "This file is not a JPEG, PNG, GIF or WebP image."
_DAMAGED = "The image file is damaged or incomplete."
_UNSUPPORTED_JPEG = (
    "This JPEG is lossless or hierarchical, which browsers cannot show; save it as an ordinary "
    "JPEG."
)

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


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    data: bytes
    content_type: ClassVar[str] = "image/jpeg"


@dataclass(frozen=True)
class RenditionResult:
    format: str  # one of image_header.ALLOWED_FORMATS, as the file's magic bytes say
    width: int  # as displayed, that is after EXIF orientation
    height: int
    renditions: tuple[Rendition, ...]  # in the order they were asked for

    def rendition(self, name: str) -> Rendition:
        for rendition in self.renditions:
            if rendition.name == name:
                return rendition
        raise KeyError(name)


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
    format = sniff_image_format(fp.read(SNIFF_BYTES))
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
            if frame is not None and frame.lossless_or_hierarchical:
                raise ImageRejected(_UNSUPPORTED_JPEG, code="not_an_image")
            with Image.open(fp, formats=[format]) as image:
                return _render(image, format, boxes, limits, frame)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise too_large(pixels_in(str(error)), format, limits) from error
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


def _render(
    image: Image.Image,
    format: str,
    boxes: Sequence[RenditionBox],
    limits: ImageLimits,
    frame: JpegFrame | None,
) -> RenditionResult:
    is_jpeg = format in REDUCED_DECODING_FORMATS
    if not is_jpeg:
        check_limits(image, format, limits)
    else:
        check_pixels(image, format, limits)
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
        frame = assumed_progressive(image)
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
        check_limits(image, format, limits, frame)
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
