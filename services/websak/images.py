"""Which images a mail's PDF shows, decided from their headers before any pixel is decoded.

An image costs memory by its pixels, not its bytes: a 10 KB PNG of 9000 × 9000 pixels took the
rendering past 690 MB (issue #16, finding 2). So each image in the body is sized from its header
(Pillow's `Image.open` reads the header and stops; nothing is decoded), in the order the body
shows them, and is shown only when it is a raster format mail uses (PNG, JPEG, GIF, WebP: no SVG,
whose rendering has no such bound), no larger than the cap per image, within what is left of the
cap per mail, and among the first so many uses. Any other is left out and the PDF says so in a
line of its own (`texts.py`); the mail with every image is filed beside the PDF as its `.eml`.

Shown images are served to the renderer under names of this module's own (`cid:sakspost-image-N`),
so that nothing the plan did not admit can be fetched, whatever the body's HTML says.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image

DEFAULT_MAX_IMAGE_PIXELS = 25_000_000
DEFAULT_MAX_MAIL_IMAGE_PIXELS = 25_000_000
DEFAULT_MAX_IMAGES = 50

SHOWN_PREFIX = "sakspost-image-"
# Raster formats seen in mail, by Pillow's name, and the media type the renderer is told.
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class LeftOut(StrEnum):
    TOO_LARGE = "too_large"  # over the cap per image
    MAIL_FULL = "mail_full"  # over what is left of the cap per mail
    UNREADABLE = "unreadable"  # no such part, not a raster format we show, or no valid header


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_mail_pixels: int = DEFAULT_MAX_MAIL_IMAGE_PIXELS
    max_images: int = DEFAULT_MAX_IMAGES


@dataclass(frozen=True, slots=True)
class ShownImage:
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SkippedImage:
    number: int  # its place among the body's images, from 1
    reason: LeftOut
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an image's header says: enough to decide, nothing decoded."""

    media_type: str
    width: int
    height: int


def read_header(content: bytes) -> ImageHeader | None:
    """Format and size from the header alone; None when it is not a raster format we show.

    Pillow refuses (rather than warns about) images over twice its own pixel limit: their size is
    unknown here, and they are left out as unreadable.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=tuple(_FORMATS)) as image:
                width, height = image.size
                media_type = _FORMATS[str(image.format)]
    except (OSError, ValueError, KeyError, SyntaxError, Image.DecompressionBombError):
        return None
    if width <= 0 or height <= 0:
        return None
    return ImageHeader(media_type, width, height)


class ImagePlan:
    """The images of one page, admitted one by one in the order the body shows them."""

    def __init__(self, limits: ImageLimits) -> None:
        self.limits = limits
        self.shown: dict[str, ShownImage] = {}
        self.skipped: list[SkippedImage] = []
        self.beyond_count = 0  # uses of images after the first `max_images`, all left out
        self._names: dict[str, str] = {}  # source → the name it is shown under
        self._pixels = 0
        self._references = 0

    def admit(self, source: str, content: bytes | None) -> str | None:
        """The `cid:` URL under which the page shows the image at `source` (the same one for
        each use of a source), or None when it is left out."""
        self._references += 1
        number = self._references
        # Counted per use, not per image: each use is laid out, and a body may use one image
        # ten thousand times. One line in the PDF tells how many were left out this way.
        if number > self.limits.max_images:
            self.beyond_count += 1
            return None
        if source in self._names:
            return f"cid:{self._names[source]}"
        header = read_header(content) if content is not None else None
        if content is None or header is None:
            self._skip(number, LeftOut.UNREADABLE)
            return None
        pixels = header.width * header.height
        if pixels > self.limits.max_image_pixels:
            self._skip(number, LeftOut.TOO_LARGE, header)
            return None
        if self._pixels + pixels > self.limits.max_mail_pixels:
            self._skip(number, LeftOut.MAIL_FULL, header)
            return None
        self._pixels += pixels
        name = f"{SHOWN_PREFIX}{len(self._names) + 1}"
        self._names[source] = name
        self.shown[name] = ShownImage(header.media_type, content)
        return f"cid:{name}"

    def _skip(self, number: int, reason: LeftOut, header: ImageHeader | None = None) -> None:
        width, height = (header.width, header.height) if header else (None, None)
        self.skipped.append(SkippedImage(number, reason, width, height))
