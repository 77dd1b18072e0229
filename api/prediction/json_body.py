"""Predict's JSON body, `{"images": [...]}`, read within a bounded memory (issue 17, items 2, 7
and 10).

The common form is read by json_images.read_plain without building Python objects. Anything
else is only ever an error to explain (floats, signs, booleans, other keys, wrong shapes), and
`json.loads` of it once grew the API by about 36 times the body (nested lists, floats and big
integers are Python objects). Before parsing, the body's brackets, commas, braces and quotes are
counted against what `max_images` images can hold; numbers are then parsed into shared objects
(0..255 are cached ints, every other number one sentinel), so the parse builds only lists, at
most as many as the images hold. Nesting deeper than Python's recursion limit is a 422.
"""

from __future__ import annotations

import json
from typing import Any

from api.errors import FieldError, invalid
from api.prediction.json_images import VALUES, read_plain
from api.prediction.onnx_models import SIDE, parse_arrays

ARRAYS_PER_IMAGE = 1 + SIDE + SIDE * SIDE  # the image, its rows, its pixels
# Not an integer in [0, 255]: shown to numpy as an object, refused by parse_arrays as such.
NOT_A_PIXEL = object()
_PIXELS = {str(v): v for v in range(256)}
# JSON's true and false parse to bools, which numpy reads as 1 and 0; a number that is not an
# integer has the same answer ("values must be integers") and goes through the same sentinel.
_BOOLEANS = ((b"true", b"0.5 "), (b"false", b"0.5  "))


def read_images(body: bytes, max_images: int) -> tuple[list[str], Any]:
    """The names and uint8 N x 32 x 32 x 3 pixels of a JSON predict body; a 422 naming the
    field otherwise."""
    images = read_plain(body, max_images)
    if images is None:
        images = _read_exact(body, max_images)
    return [f"images.{i}" for i in range(len(images))], images


def _read_exact(body: bytes, max_images: int) -> Any:
    _check_counts(body, max_images)
    for boolean, number in _BOOLEANS:
        body = body.replace(boolean, number)
    try:
        document = json.loads(
            body,
            parse_int=_pixel,
            parse_float=_not_a_pixel,
            parse_constant=_not_a_pixel,
        )
    except RecursionError:
        raise invalid([FieldError.body("body", "nested too deeply")]) from None
    except ValueError as error:
        raise invalid([FieldError.body("body", f"malformed JSON: {error}")]) from None
    if not isinstance(document, dict) or set(document) != {"images"}:
        raise invalid([FieldError.body("body", 'a JSON object {"images": [...]} is required')])
    try:
        return parse_arrays(document["images"], max_images)
    except RecursionError:
        raise invalid([FieldError.body("images", "nested too deeply")]) from None


def _check_counts(body: bytes, max_images: int) -> None:
    """Refuse, before parsing, a body with more structure than max_images images have."""
    if body.count(b"{") > 1 or body.count(b'"') > 2:
        raise invalid([FieldError.body("body", 'a JSON object {"images": [...]} is required')])
    arrays = 1 + max_images * ARRAYS_PER_IMAGE
    values = max_images * (VALUES + ARRAYS_PER_IMAGE)
    if body.count(b"[") > arrays or body.count(b",") > values:
        reason = f"more arrays or values than {max_images} images of 32 x 32 x 3 hold"
        raise invalid([FieldError.body("images", reason)])


def _pixel(text: str) -> Any:
    return _PIXELS.get(text, NOT_A_PIXEL)


def _not_a_pixel(_text: str) -> Any:
    return NOT_A_PIXEL
