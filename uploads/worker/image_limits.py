"""What an image may cost, checked from its header before any pixel is decoded, and the refusal
an uploader is shown when it costs more (``ImageRejected``).

Imports only Pillow: it runs in the image decoder's child process too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image

from uploads.worker.image_header import JpegFrame, jpeg_coefficient_bytes

MiB = 1024 * 1024

# A 24-megapixel camera photo must pass and a decompression bomb must not (Pillow's default is
# about the same). A JPEG this large is decoded at reduced size (libjpeg's draft mode), so its
# pixels stay small whatever their count; a progressive one still costs its coefficients (see
# jpeg_coefficient_bytes).
MAX_PIXELS = 90_000_000

# Pillow checks the size inside Image.open, before this module sees it; pinning the process-wide
# limit to ours makes that check refuse exactly what ours refuses.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

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


def decoded_bytes(image: Image.Image) -> int:
    """What Pillow will hold for the image once decoded, from its size and mode alone."""
    if image.mode in ("1", "L", "P"):
        per_pixel = 1
    elif image.mode.startswith("I;16"):
        per_pixel = 2
    else:  # RGB, RGBA, LA, CMYK, YCbCr, I, F…: 32 bits a pixel
        per_pixel = 4
    return image.width * image.height * per_pixel


def check_pixels(image: Image.Image, format: str, limits: ImageLimits) -> None:
    # Pillow's own pixel check reads a process-wide setting that other code may loosen or set
    # to None, and knows nothing of formats: this one is checked here, from the header.
    if image.width * image.height > limits.max_pixels_for(format):
        raise too_large(image.width * image.height, format, limits)


def check_limits(
    image: Image.Image, format: str, limits: ImageLimits, frame: JpegFrame | None = None
) -> None:
    """The pixels, then the memory the decoder will hold: the image as Pillow keeps it in the
    size and mode it will decode to, plus a multi-scan JPEG's coefficients."""
    check_pixels(image, format, limits)
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


def too_large(pixels: int | None, format: str, limits: ImageLimits) -> ImageRejected:
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


def pixels_in(message: str) -> int | None:
    # Pillow raises before the image object exists; its message is the only place the size is.
    match = re.search(r"\((\d+) pixels\)", message)
    return int(match.group(1)) if match else None
