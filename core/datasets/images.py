"""One uploaded image file to 32 x 32 RGB: PNG, JPEG or WebP, size checked before decoding.

How another size becomes 32 x 32: the centre square is kept (the longer side trimmed evenly on
both ends), then resized with Pillow's bicubic filter, which antialiases when it shrinks. The
original width and height are returned, and the data set records them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from core.datasets.errors import DatasetRejected

FORMATS = ("PNG", "JPEG", "WEBP")
SIDE = 32
RESIZE_METHOD = "centre square crop, then Pillow bicubic (antialiased) to 32x32"


def decode(name: str, data: bytes, max_pixels: int) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 3 x 32 x 32 (CHW) and the original (width, height); DatasetRejected naming `name`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise DatasetRejected(
                    name,
                    f"declares {width}x{height} pixels, over the {max_pixels} an image may have "
                    "(a decompression bomb?)",
                )
            if (
                image.format == "JPEG"
                and isinstance(image, ImageFile.ImageFile)
                and width * height > 4 * SIDE * SIDE
            ):
                image.draft("RGB", (SIDE, SIDE))  # JPEG's own downscaling while decoding: faster
            image.load()
            image = image.convert("RGB")
    except DatasetRejected:
        raise
    except UnidentifiedImageError as error:
        raise DatasetRejected(name, "not a PNG, JPEG or WebP image") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as error:
        raise DatasetRejected(name, f"a corrupt or truncated image ({error})") from error
    if image.size != (SIDE, SIDE):
        w, h = image.size
        side = min(w, h)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        image = image.resize((SIDE, SIDE), Image.Resampling.BICUBIC, box=box)
    pixels = np.asarray(image, dtype=np.uint8)  # H x W x 3
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)), (width, height)


def encode_png(chw: np.ndarray) -> bytes:
    """A 3 x 32 x 32 uint8 image as PNG bytes (the sample images of GET /datasets/{id})."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0))).save(buffer, format="PNG")
    return buffer.getvalue()
