"""The image renditions step on its own: bytes in, JPEG renditions or a refusal out.

Every image here is made by Pillow in the test, so the suite needs no fixtures on disk, no
database and no network.
"""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageDraw
from PIL.JpegImagePlugin import JpegImageFile

from tests.fixtures.worker import BLUE, RED, RENDITIONS, encode
from uploads.worker import image_header, image_limits, images
from uploads.worker.image_header import sniff_image_format
from uploads.worker.image_limits import ImageRejected
from uploads.worker.images import RenditionResult, _reduce, _resampleable, fit


def make_renditions(source):
    return images.make_renditions(source, RENDITIONS)


WHITE = (255, 255, 255)


def decode(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def sizes(result: RenditionResult):
    return {r.name: (r.width, r.height) for r in result.renditions}


def assert_close(actual, expected, tolerance=12):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False)), (
        actual,
        expected,
    )


def with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def stored_with_red_top_left(size):
    image = Image.new("RGB", size, BLUE)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=RED)
    return image


def rejection(data) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        make_renditions(data)
    return caught.value


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_claiming(width, height):
    """A well-formed PNG start that promises width×height pixels and holds almost none."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width, height):
    """A real little JPEG whose frame header is rewritten to promise width×height."""
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_claiming(width, height):
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "WEBP"))
    frame = data.index(b"\x9d\x01\x2a")  # the VP8 key frame's start code, then its dimensions
    data[frame + 3 : frame + 7] = struct.pack("<HH", width, height)
    return bytes(data)


# --- what comes out of a good image ---------------------------------------------------------


def test_it_makes_a_thumb_and_a_content_jpeg_from_a_jpeg():
    result = make_renditions(encode(Image.new("RGB", (1200, 800), RED), "JPEG"))

    assert result.format == "JPEG"
    assert (result.width, result.height) == (1200, 800)
    assert [r.name for r in result.renditions] == [name for name, _, _ in RENDITIONS]
    assert sizes(result) == {"thumb": (300, 200), "content": (920, 613)}
    for rendition in result.renditions:
        image = decode(rendition.data)
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == (rendition.width, rendition.height)
        assert_close(image.getpixel((image.width // 2, image.height // 2)), RED)
    assert result.rendition("thumb").content_type == "image/jpeg"


def test_it_turns_a_jpeg_by_its_exif_orientation_and_strips_the_metadata():
    stored = stored_with_red_top_left((800, 600))
    data = encode(
        stored, "JPEG", exif=with_orientation(6), icc_profile=b"an icc profile", comment=b"hello"
    )

    result = make_renditions(data)

    # Orientation 6: the stored image is shown turned a quarter clockwise, so it stands upright
    # and its stored top-left corner is shown top right.
    assert (result.width, result.height) == (600, 800)
    assert sizes(result) == {"thumb": (300, 400), "content": (600, 800)}
    for rendition in result.renditions:
        image = decode(rendition.data)
        assert_close(image.getpixel((image.width - 5, 5)), RED)
        assert_close(image.getpixel((5, 5)), BLUE)
        assert not image.getexif()
        assert "icc_profile" not in image.info
        assert "comment" not in image.info
        assert b"Exif" not in rendition.data


def test_it_fits_the_turned_size_when_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    decoded_sizes = []
    draft = JpegImageFile.draft

    def spy(self, mode, size):
        answer = draft(self, mode, size)
        decoded_sizes.append(self.size)
        return answer

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    stored = stored_with_red_top_left((6000, 4500))

    result = make_renditions(encode(stored, "JPEG", exif=with_orientation(6)))

    # Shown 4500×6000: content is bound by its width (920/4500 < 1600/6000), the thumb by both.
    assert (result.width, result.height) == (4500, 6000)
    assert sizes(result) == {"thumb": (300, 400), "content": (920, 1227)}
    # Stored, the content is 1227×920, and half scale is the least that covers twice that; had
    # the target not been turned (920×1227), no reduced scale would have covered it.
    assert decoded_sizes == [(3000, 2250)]
    content = decode(result.rendition("content").data)
    assert_close(content.getpixel((content.width - 5, 5)), RED)
    assert_close(content.getpixel((5, content.height - 5)), BLUE)


@pytest.mark.parametrize("format", ["PNG", "WEBP"])
def test_it_shows_an_image_whose_exif_cannot_be_read_as_stored(format):
    # A JPEG's unreadable EXIF is already dropped by Pillow when it opens the file; a PNG's or a
    # WebP's makes Pillow's EXIF reader raise.
    exif = with_orientation(6).replace(b"MM\x00*", b"XX\x00*")
    data = encode(stored_with_red_top_left((40, 30)), format, exif=exif)

    result = make_renditions(data)

    assert (result.width, result.height) == (40, 30)
    content = decode(result.rendition("content").data)
    assert_close(content.getpixel((2, 2)), RED, tolerance=40)


def test_it_puts_a_transparent_png_on_white():
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((200, 0, 399, 199), fill=(*RED, 255))

    result = make_renditions(encode(image, "PNG"))

    assert result.format == "PNG"
    assert sizes(result) == {"thumb": (300, 150), "content": (400, 200)}
    thumb = decode(result.rendition("thumb").data)
    assert_close(thumb.getpixel((40, 75)), WHITE)
    assert_close(thumb.getpixel((260, 75)), RED)


def test_it_puts_a_palette_png_with_a_transparent_colour_on_white():
    image = Image.new("P", (100, 100), 0)
    image.putpalette([0, 0, 0, *RED])
    ImageDraw.Draw(image).rectangle((50, 0, 99, 99), fill=1)

    content = decode(
        make_renditions(encode(image, "PNG", transparency=0)).rendition("content").data
    )

    assert_close(content.getpixel((10, 50)), WHITE)
    assert_close(content.getpixel((90, 50)), RED)


def test_it_puts_a_large_transparent_gif_on_white_tile_by_tile():
    # Wide enough (6× the content width) to be box-reduced before LANCZOS, in several tiles.
    image = Image.new("P", (6000, 300), 0)
    image.putpalette([0, 0, 0, *RED])
    ImageDraw.Draw(image).rectangle((3000, 0, 5999, 299), fill=1)

    result = make_renditions(encode(image, "GIF", transparency=0))

    assert sizes(result) == {"thumb": (300, 15), "content": (920, 46)}
    content = decode(result.rendition("content").data)
    assert_close(content.getpixel((200, 23)), WHITE)
    assert_close(content.getpixel((700, 23)), RED)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P"])
def test_reducing_tile_by_tile_gives_the_pixels_of_a_whole_image_reduce(mode):
    noise = Image.effect_noise((2500, 1333), 80)
    image = Image.merge(mode, [noise] * len(mode)) if mode != "P" else noise.convert("P")
    if mode == "P":
        image.info["transparency"] = 7

    reduced, box = _reduce(image, (150, 100), None)

    whole = _resampleable(image).reduce((5, 4))
    assert reduced.mode == whole.mode
    assert reduced.tobytes() == whole.tobytes()
    assert box == (0, 0, 500, 1333 / 4)


def test_it_scales_a_16_bit_grey_png_rather_than_clipping_it():
    image = Image.frombytes("I;16", (50, 40), struct.pack("<H", 0x8080) * 50 * 40)

    content = decode(make_renditions(encode(image, "PNG")).rendition("content").data)

    assert_close(content.getpixel((25, 20)), (128, 128, 128), tolerance=2)


def test_it_converts_a_cmyk_jpeg_to_rgb():
    image = Image.new("CMYK", (60, 60), (0, 255, 255, 0))  # pure red in ink

    content = decode(make_renditions(encode(image, "JPEG")).rendition("content").data)

    assert content.mode == "RGB"
    assert_close(content.getpixel((30, 30)), RED, tolerance=20)


def test_it_uses_the_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (120, 80), colour).convert("P") for colour in (RED, BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = make_renditions(data)

    assert result.format == "GIF"
    assert_close(decode(result.rendition("content").data).getpixel((60, 40)), RED)


def test_it_uses_the_first_frame_of_an_animated_webp():
    frames = [Image.new("RGB", (120, 80), colour) for colour in (RED, BLUE)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)

    result = make_renditions(data)

    assert result.format == "WEBP"
    assert_close(decode(result.rendition("content").data).getpixel((60, 40)), RED)


def test_it_reads_a_camera_mpo_as_a_jpeg():
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, BLUE)]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])

    result = make_renditions(data)

    assert result.format == "JPEG"
    assert_close(decode(result.rendition("content").data).getpixel((32, 24)), RED)


def test_it_keeps_a_1x1_image_at_1x1():
    result = make_renditions(encode(Image.new("RGB", (1, 1), RED), "PNG"))

    assert sizes(result) == {"thumb": (1, 1), "content": (1, 1)}
    assert decode(result.rendition("thumb").data).size == (1, 1)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((20000, 100), {"thumb": (300, 2), "content": (920, 5)}),
        ((100, 20000), {"thumb": (2, 400), "content": (8, 1600)}),
        ((100000, 1), {"thumb": (300, 1), "content": (920, 1)}),
    ],
    ids=["wide banner", "tall strip", "one pixel high"],
)
def test_it_never_lets_a_side_of_an_extreme_image_fall_to_zero(size, expected):
    result = make_renditions(encode(Image.new("L", size, 128), "PNG"))

    assert sizes(result) == expected
    for rendition in result.renditions:
        assert decode(rendition.data).size == (rendition.width, rendition.height)


def test_fit_keeps_the_aspect_ratio_and_never_enlarges():
    assert fit((6000, 4000), (920, 1600)) == (920, 613)
    assert fit((4000, 6000), (300, 400)) == (267, 400)
    assert fit((300, 400), (300, 400)) == (300, 400)
    assert fit((200, 100), (920, 1600)) == (200, 100)


def test_it_reads_bytes_a_file_or_a_stream_that_cannot_seek():
    data = encode(Image.new("RGB", (50, 50), RED), "JPEG")

    class Stream(io.RawIOBase):
        def __init__(self):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._inner.readinto(buffer)

    half_read = io.BytesIO(data)
    half_read.read(10)
    for source in (data, bytearray(data), half_read, Stream()):
        assert make_renditions(source).width == 50


def test_it_accepts_a_jpeg_with_a_zip_appended_and_drops_the_zip():
    zip_tail = b"PK\x03\x04" + b"\x00" * 26 + b"evil.jsp" + b"<% run() %>"
    data = encode(Image.new("RGB", (50, 50), RED), "JPEG") + zip_tail

    result = make_renditions(data)

    for rendition in result.renditions:
        assert b"PK\x03\x04" not in rendition.data
        assert b"run()" not in rendition.data


# --- what is refused, and how --------------------------------------------------------------

NOT_IMAGES = {
    "svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "bare svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n",
    "dos eps": b"\xc5\xd0\xd3\xc6" + b"\x00" * 28,
    "psd": b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03",
    "html named png": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40,
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "empty file": b"",
    "bmp": encode(Image.new("RGB", (8, 8), RED), "BMP"),
    "tiff": encode(Image.new("RGB", (8, 8), RED), "TIFF"),
    "ico": encode(Image.new("RGB", (16, 16), RED), "ICO"),
    "png signature at offset 1": b" " + encode(Image.new("RGB", (8, 8), RED), "PNG"),
}


@pytest.mark.parametrize("data", NOT_IMAGES.values(), ids=NOT_IMAGES.keys())
def test_it_refuses_anything_that_does_not_start_like_an_allowed_format(data):
    error = rejection(data)

    assert error.code == "not_an_image"
    assert str(error) == "This file is not a JPEG, PNG, GIF or WebP image."


def test_it_never_hands_a_refused_format_to_pillow(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Image.open was called")

    monkeypatch.setattr(Image, "open", refuse)

    assert rejection(NOT_IMAGES["eps"]).code == "not_an_image"


DAMAGED = {
    "truncated jpeg": encode(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG")[:3000],
    "truncated png": encode(Image.effect_noise((400, 300), 60), "PNG")[:3000],
    "truncated gif": encode(Image.effect_noise((400, 300), 60).convert("P"), "GIF")[:3000],
    "truncated webp": encode(Image.effect_noise((400, 300), 60), "WEBP")[:3000],
    "png signature only": b"\x89PNG\r\n\x1a\n",
    "jpeg markers then html": b"\xff\xd8\xff\xe0<html><body>not a jpeg</body></html>",
    "png with a bad header checksum": b"\0\0\0\0".join(
        (png_header_claiming(10, 10)[:29], png_header_claiming(10, 10)[33:])
    ),
}


@pytest.mark.parametrize("data", DAMAGED.values(), ids=DAMAGED.keys())
def test_it_refuses_a_damaged_or_incomplete_image(data):
    error = rejection(data)

    assert error.code == "damaged"
    assert str(error) == "The image file is damaged or incomplete."


WHOLE = "24 megapixels for PNG, GIF and WebP images"
BOMBS = {
    # Above twice Pillow's limit, Image.open raises DecompressionBombError itself.
    "png claiming 100000×100000": (png_header_claiming(100_000, 100_000), "10,000", WHOLE),
    "jpeg claiming 65000×65000": (jpeg_claiming(65_000, 65_000), "4,225", "90 megapixels"),
    # Between the limit and twice it, Pillow only warns, and that warning must refuse too.
    "png claiming 10000×9500": (png_header_claiming(10_000, 9_500), "95.0", WHOLE),
    "jpeg claiming 10000×9500": (jpeg_claiming(10_000, 9_500), "95.0", "90 megapixels"),
    "webp claiming 10000×9500": (webp_claiming(10_000, 9_500), "95.0", WHOLE),
    # Under Pillow's limit: formats decoded whole have a lower one.
    "png claiming 9400×9400": (png_header_claiming(9_400, 9_400), "88.4", WHOLE),
    "webp claiming 5000×5000": (webp_claiming(5_000, 5_000), "25.0", WHOLE),
}


@pytest.mark.parametrize(("data", "megapixels", "limit"), BOMBS.values(), ids=BOMBS.keys())
def test_it_refuses_a_decompression_bomb_before_decoding_it(data, megapixels, limit):
    error = rejection(data)

    assert error.code == "too_large"
    assert str(error) == (
        f"This image is too large to process ({megapixels} megapixels; the limit is {limit})."
    )


def rgba_png_header_claiming(width, height, bit_depth=8):
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 6, 0, 0, 0)  # colour type 6: RGBA
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def test_the_hostile_rgba_png_is_refused_from_its_header_without_decoding(monkeypatch):
    # 9,400×9,400 RGBA: 88 megapixels, under Pillow's own limit, and 353 MB once decoded.
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)

    error = rejection(rgba_png_header_claiming(9_400, 9_400))

    assert error.code == "too_large" and "88.4 megapixels" in str(error)
    assert decoded == []


def test_it_refuses_an_image_whose_decoded_pixels_pass_the_memory_budget(monkeypatch):
    # Under every pixel cap, but 4 bytes a pixel: 64 MB where the budget is 48 MiB.
    limits = image_limits.ImageLimits(memory_budget=48 * 1024 * 1024)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)

    with pytest.raises(ImageRejected) as caught:
        images.make_renditions(rgba_png_header_claiming(4_000, 4_000), RENDITIONS, limits)

    assert caught.value.code == "too_large"
    assert str(caught.value) == (
        "This image is too large to process (it would take 61 MB of memory to decode; "
        "the limit is 48 MB)."
    )
    assert decoded == []


def test_a_grey_png_of_the_same_size_fits_the_budget_a_colour_one_does_not():
    limits = image_limits.ImageLimits(memory_budget=20 * 1024 * 1024)
    grey = encode(Image.new("L", (3_000, 3_000), 128), "PNG")
    colour = encode(Image.new("RGB", (3_000, 3_000), RED), "PNG")

    assert images.make_renditions(grey, RENDITIONS, limits).width == 3_000
    with pytest.raises(ImageRejected):
        images.make_renditions(colour, RENDITIONS, limits)


def test_a_large_jpeg_is_judged_by_the_size_it_is_decoded_at():
    # 6000×4000 is 96 MB decoded whole, but draft decodes it at half of each side: 24 MB.
    limits = image_limits.ImageLimits(memory_budget=30 * 1024 * 1024)
    photo = encode(Image.new("RGB", (6_000, 4_000), BLUE), "JPEG")

    assert images.make_renditions(photo, RENDITIONS, limits).width == 6_000


def test_it_keeps_its_pixel_limit_when_other_code_lifts_pillows(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    assert rejection(png_header_claiming(10_000, 9_500)).code == "too_large"


def test_it_accepts_an_image_just_under_the_pixel_limit_as_far_as_the_size_check():
    # 4000×6000 is allowed, so what stops this header-only PNG is its missing pixel data.
    assert image_limits.DEFAULT_LIMITS.max_pixels_for("PNG") >= 4_000 * 6_000
    assert rejection(png_header_claiming(4_000, 6_000)).code == "damaged"


def seeds():
    picture = Image.new("RGBA", (64, 48), (10, 200, 30, 128))
    ImageDraw.Draw(picture).ellipse((5, 5, 50, 40), fill=(*RED, 255))
    frames = [picture.convert("P"), Image.new("P", (64, 48), 1)]
    return [
        encode(picture.convert("RGB"), "JPEG", exif=with_orientation(6)),
        encode(picture.convert("RGB"), "JPEG", progressive=True),
        encode(picture, "PNG"),
        encode(frames[0], "GIF", save_all=True, append_images=frames[1:], transparency=0),
        encode(picture, "WEBP"),
    ]


def test_every_mangled_image_ends_in_renditions_or_a_refusal():
    rng = random.Random(7)
    originals = seeds()
    made = refused = 0
    for _ in range(1500):
        data = bytearray(rng.choice(originals))
        how = rng.choice(["overwrite", "truncate", "insert"])
        if how == "overwrite":
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == "truncate":
            del data[rng.randrange(1, len(data)) :]
        else:
            at = rng.randrange(len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 32))
        try:
            result = make_renditions(bytes(data))
        except ImageRejected as refusal:
            assert str(refusal), "a refusal says why"
            refused += 1
        else:
            assert [r.name for r in result.renditions] == ["thumb", "content"]
            for rendition in result.renditions:
                assert rendition.width > 0 and rendition.height > 0
                assert rendition.data.startswith(b"\xff\xd8")  # a JPEG
            made += 1
    # Mangled bytes meet both ends: some still make an image, some are refused.
    assert made > 0 and refused > 0, (made, refused)


# --- magic bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "head"),
    [
        ("JPEG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
        ("PNG", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("GIF", b"GIF87a\x10\x00\x10\x00"),
        ("GIF", b"GIF89a\x10\x00\x10\x00"),
        ("WEBP", b"RIFF\x24\x00\x00\x00WEBPVP8 "),
    ],
)
def test_sniff_image_format_names_each_allowed_format(format, head):
    assert sniff_image_format(head) == format


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"GIF88a",
        b"\x89PNG\r\n",
        b"8BPS",
        b"<svg",
    ],
)
def test_sniff_image_format_names_nothing_else(head):
    assert sniff_image_format(head) is None


# --- what libjpeg really holds: progressive and multi-scan JPEGs -------------------------------


def cmyk_picture(side):
    picture = Image.new("CMYK", (side, side), (10, 200, 30, 0))
    draw = ImageDraw.Draw(picture)
    for offset in range(0, side, 97):
        draw.line((0, offset, side, side - offset), fill=(200, 10, 90, 40), width=3)
    return picture


def with_frame_size(data, width, height):
    """``data`` with its frame header rewritten to promise width×height (whatever SOFn it is)."""
    data = bytearray(data)
    sof = next(i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_progressive_cmyk_jpeg_is_judged_by_its_full_size_coefficients():
    # Decoded at reduced scale its pixels take 15 MB, but libjpeg first keeps every component's
    # coefficients of the whole 2000×2000 image: 31 MB more.
    limits = image_limits.ImageLimits(memory_budget=30 * 1024 * 1024)
    picture = cmyk_picture(2_000)
    baseline = encode(picture, "JPEG", quality=80)
    progressive = encode(picture, "JPEG", quality=80, progressive=True)

    assert images.make_renditions(baseline, RENDITIONS, limits).width == 2_000
    with pytest.raises(ImageRejected) as caught:
        images.make_renditions(progressive, RENDITIONS, limits)

    assert caught.value.code == "too_large"
    assert str(caught.value) == (
        "This image is too large to process (as a progressive JPEG it would take 46 MB of "
        "memory to decode; the limit is 30 MB). Saved as a baseline JPEG, or smaller, it can be."
    )


def test_the_hostile_progressive_cmyk_jpeg_is_refused_from_its_header_without_decoding(
    monkeypatch,
):
    # 9,480×9,480 CMYK, progressive: its reduced decode is 21 MiB, its coefficients 686 MiB.
    hostile = with_frame_size(encode(cmyk_picture(64), "JPEG", progressive=True), 9_480, 9_480)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)

    error = rejection(hostile)

    assert error.code == "too_large" and "progressive JPEG it would take 707 MB" in str(error)
    assert decoded == []


def test_the_same_size_in_baseline_is_decoded_at_reduced_scale():
    # libjpeg decodes a single-scan file one row of blocks at a time (and fills in the rows
    # this one lacks): only the reduced image is held.
    header_only = with_frame_size(encode(cmyk_picture(64), "JPEG"), 9_480, 9_480)

    assert images.make_renditions(header_only, RENDITIONS).width == 9_480


def test_junk_before_a_marker_does_not_hide_a_progressive_frame():
    # libjpeg skips bytes that are not a marker (with a warning) and decodes the file anyway.
    data = encode(cmyk_picture(2_000), "JPEG", quality=80, progressive=True)
    sof = data.index(b"\xff\xc2")
    with_junk = data[:sof] + b"\x00junk" + data[sof:]
    limits = image_limits.ImageLimits(memory_budget=30 * 1024 * 1024)

    assert image_header.read_jpeg_frame(io.BytesIO(with_junk)).progressive
    with pytest.raises(ImageRejected) as caught:
        images.make_renditions(with_junk, RENDITIONS, limits)
    assert caught.value.code == "too_large"


def jpeg_markers(*segments):
    return b"\xff\xd8" + b"".join(
        b"\xff" + bytes([kind]) + struct.pack(">H", len(body) + 2) + body for kind, body in segments
    )


def frame_header(width, height, sampling):
    components = b"".join(bytes([n + 1, h * 16 + v, 0]) for n, (h, v) in enumerate(sampling))
    return bytes([8]) + struct.pack(">HHB", height, width, len(sampling)) + components


def scan_header(components):
    return (
        bytes([components])
        + b"".join(bytes([n + 1, 0]) for n in range(components))
        + b"\x00\x3f\x00"
    )


def test_a_sequential_jpeg_whose_first_scan_carries_one_component_is_multi_scan():
    sampling = ((2, 2), (1, 1), (1, 1))
    interleaved = jpeg_markers((0xE0, b"JFIF\x00"), (0xC0, frame_header(6_000, 4_000, sampling)),
                               (0xDA, scan_header(3)))  # fmt: skip
    one_at_a_time = jpeg_markers(
        (0xC0, frame_header(6_000, 4_000, sampling)), (0xDA, scan_header(1))
    )

    single = image_header.read_jpeg_frame(io.BytesIO(interleaved))
    multi = image_header.read_jpeg_frame(io.BytesIO(one_at_a_time))

    assert (single.multi_scan, multi.multi_scan) == (False, True)
    assert image_header.jpeg_coefficient_bytes(single) == 0
    # Luma 750×500 blocks, each chroma 375×250, 128 bytes a block.
    assert image_header.jpeg_coefficient_bytes(multi) == (750 * 500 + 2 * 375 * 250) * 128


@pytest.mark.parametrize(
    ("width", "height", "sampling", "expected_blocks"),
    [
        # CMYK, no subsampling: 1,185×1,185 blocks a component.
        (9_480, 9_480, ((1, 1),) * 4, 4 * 1_185 * 1_185),
        # 4:2:0 with sides that are not multiples of a block: rounded up to whole MCUs.
        (1_001, 601, ((2, 2), (1, 1), (1, 1)), 126 * 76 + 2 * 63 * 38),
        (7, 7, ((1, 1),), 1),
    ],
)
def test_coefficients_are_sized_as_libjpeg_sizes_them(width, height, sampling, expected_blocks):
    frame = image_header.JpegFrame(
        marker=0xC2, width=width, height=height, sampling=sampling, first_scan_components=1
    )

    assert image_header.jpeg_coefficient_bytes(frame) == expected_blocks * 128


def test_a_lossless_jpeg_is_refused_with_a_sentence():
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 1] = 0xC3

    error = rejection(bytes(data))

    assert error.code == "not_an_image"
    assert "lossless or hierarchical" in str(error)


def test_markers_that_break_before_a_scan_give_no_frame():
    assert image_header.read_jpeg_frame(io.BytesIO(b"\xff\xd8\xff\xe0\x00")) is None
    assert image_header.read_jpeg_frame(io.BytesIO(b"\xff\xd8\xff\xd9")) is None
    assert image_header.read_jpeg_frame(io.BytesIO(jpeg_markers((0xDA, scan_header(1))))) is None
