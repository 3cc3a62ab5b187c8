"""hub.images: an image's type and displayed size, read by Pillow from its header."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hub.images import ImageInfo, image_info


def make(kind: str, size: tuple[int, int], orientation: int | None = None) -> bytes:
    """An image of *size* pixels saved by Pillow as *kind*, with an EXIF orientation if given."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", size, (200, 40, 40))
    if orientation is None:
        picture.save(buffer, kind)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        picture.save(buffer, kind, exif=exif)
    return buffer.getvalue()


PNG = make("PNG", (64, 48))


def mpo(size: tuple[int, int]) -> bytes:
    """A JPEG holding two pictures (MPO), as some cameras write."""
    buffer = io.BytesIO()
    first, second = Image.new("RGB", size), Image.new("RGB", size)
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, ImageInfo("image/png", 64, 48)),
        (make("JPEG", (80, 60)), ImageInfo("image/jpeg", 80, 60)),
        (make("JPEG", (80, 60), orientation=6), ImageInfo("image/jpeg", 60, 80)),  # turned
        (make("JPEG", (80, 60), orientation=3), ImageInfo("image/jpeg", 80, 60)),  # upside down
        (mpo((40, 30)), ImageInfo("image/jpeg", 40, 30)),  # Pillow's "MPO" is a JPEG
        (make("PNG", (8, 4), orientation=6), ImageInfo("image/png", 4, 8)),  # eXIf chunk
        (make("GIF", (5, 7)), ImageInfo("image/gif", 5, 7)),
        (make("WEBP", (30, 20)), ImageInfo("image/webp", 30, 20)),
        (make("BMP", (9, 4)), ImageInfo("image/bmp", 9, 4)),
        (make("TIFF", (3, 2)), ImageInfo("image/tiff", 3, 2)),
        (PNG + b"\0" * 1000, ImageInfo("image/png", 64, 48)),  # trailing bytes: still read
        (b"not an image at all", None),
        (b"", None),
        (PNG[:20], None),  # cut inside the IHDR chunk
        (PNG[:33], None),  # the IHDR whole, but nothing after it
    ],
    ids=[
        "png",
        "jpeg",
        "jpeg-exif-6",
        "jpeg-exif-3",
        "mpo",
        "png-exif-6",
        "gif",
        "webp",
        "bmp",
        "tiff",
        "png-trailing",
        "garbage",
        "empty",
        "png-truncated",
        "png-header-only",
    ],
)
def test_image_info(data: bytes, expected: ImageInfo | None) -> None:
    assert image_info(data) == expected


def test_a_decompression_bomb_is_not_an_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert image_info(make("PNG", (11, 10))) is None  # over the limit: a warning, made None
    assert image_info(make("PNG", (21, 10))) is None  # twice over: Pillow's error
    assert image_info(make("PNG", (10, 10))) == ImageInfo("image/png", 10, 10)
