"""What an image file is and how big it shows, read by Pillow from its header.

The one place StormHub looks inside an image: the channels use it to tell the media type
they upload (and Bluesky the aspect ratio), the simulators to answer as the platforms do.
``Image.open`` is lazy: it reads the header, not the pixels.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

_ORIENTATION = 0x0112  # EXIF Orientation: 5-8 turn the picture a quarter

# ``warnings.catch_warnings`` swaps process-wide state; the fan-out reads images on threads.
_WARNINGS = threading.Lock()


@dataclass(frozen=True)
class ImageInfo:
    """An image's MIME type and its size as it is shown."""

    mime: str  # e.g. "image/png": Pillow's Image.MIME for the format found
    width: int  # as displayed: EXIF orientation 5-8 swaps the sides
    height: int


def image_info(data: bytes) -> ImageInfo | None:
    """The type and displayed size of the image in *data*; None if Pillow cannot tell."""
    with _WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a corrupt EXIF tag: the size is still good
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                # A PNG's getexif decodes the pixels to look for an eXIf chunk after them;
                # one before them is already in info.
                exif = image.getexif() if kind != "PNG" or "exif" in image.info else None
                orientation = exif.get(_ORIENTATION, 1) if exif is not None else 1
        except (
            UnidentifiedImageError,
            OSError,
            ValueError,
            SyntaxError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ):
            return None
    # A JPEG with more than one picture (MPO, from a camera) is a JPEG to every platform.
    mime = "image/jpeg" if kind == "MPO" else Image.MIME.get(kind or "")
    if mime is None:
        return None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(mime, width, height)
