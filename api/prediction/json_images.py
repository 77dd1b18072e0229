"""The common JSON predict body, `{"images": [...]}` of N 32 x 32 x 3 arrays of plain integers,
read without building Python objects.

`json.loads` and `numpy.asarray` of a batch of 256 (786,432 integers, 3-4 MB of text) build as
many Python ints and lists and cost about as much as ResNet-20's inference on a CPU. Here the
text's structure is checked as bytes (digits removed, what is left must be exactly the brackets
and commas of N such arrays) and the numbers are read by numpy's C parser. Anything else
(floats, signs, other keys, leading zeros, malformed text) gives None: the caller then takes the
exact path of `json.loads`, whose errors name the image and the reason.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from api.prediction.onnx_models import SIDE

VALUES = SIDE * SIDE * 3
_WHITESPACE = b" \t\r\n"  # JSON's four
_DIGITS = b"0123456789"
_OPENING = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"images"[ \t\r\n]*:')
_BRACKETS_AS_SPACES = bytes.maketrans(b"[]", b"  ")
# Each byte as a class: "1" for 1-9, "0" for 0, "," for everything else (whitespace is deleted
# first). A number then starts at each ",0" or ",1"; a leading zero (not JSON) is ",0" and a digit.
_CLASSES = bytes(
    ord("1") if chr(c) in "123456789" else ord("0") if chr(c) == "0" else ord(",")
    for c in range(256)
)


@functools.cache
def _image_skeleton() -> bytes:
    """One image without its digits and whitespace: [[[,,],...],...]."""
    row = b"[" + b",".join([b"[,,]"] * SIDE) + b"]"
    return b"[" + b",".join([row] * SIDE) + b"]"


def read_plain(body: bytes, max_images: int) -> np.ndarray | None:
    """uint8 N x 32 x 32 x 3 from a body in the common form, or None for anything else."""
    opening = _OPENING.match(body)
    if opening is None:
        return None
    inner = body[opening.end() :].rstrip(_WHITESPACE)
    if not inner.endswith(b"}"):
        return None
    inner = inner[:-1]
    skeleton = inner.translate(None, _DIGITS + _WHITESPACE)
    image = _image_skeleton()
    count, rest = divmod(len(skeleton) - 1, len(image) + 1)
    if rest or not 0 < count <= max_images:
        return None
    if skeleton != b"[" + b",".join([image] * count) + b"]":
        return None
    classes = inner.translate(_CLASSES, _WHITESPACE)
    if classes.count(b",0") + classes.count(b",1") != count * VALUES:
        return None  # a missing number ("[1,,3]"): numpy would read it as 0
    if classes.find(b",00") >= 0 or classes.find(b",01") >= 0:
        return None
    try:
        # Whitespace inside a number ("2 55") stops the parser early: a ValueError.
        flat = np.fromstring(inner.translate(_BRACKETS_AS_SPACES), dtype=np.int64, sep=",")
    except ValueError:
        return None
    # A huge number saturates and fails the range.
    if flat.size != count * VALUES or flat.min() < 0 or flat.max() > 255:
        return None
    return flat.astype(np.uint8).reshape(count, SIDE, SIDE, 3)
