"""The fast reader of JSON predict bodies: the same arrays as `json.loads` + `parse_arrays` for
the common form in any JSON spacing, None for everything else, and never an answer the exact
path would not give (fuzzed with Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.errors import ApiError
from api.prediction.json_images import read_plain
from api.prediction.onnx_models import parse_arrays

RNG = np.random.default_rng(11)
IMAGES = RNG.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
IMAGES[0, 0, 0] = (0, 255, 10)  # the edges of the range, and a zero before a digit-led number


def exact(body: bytes, max_images: int = 256) -> np.ndarray | None:
    """What the endpoint's exact path answers: the arrays, or None for a 422."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or set(document) != {"images"}:
        return None
    try:
        return parse_arrays(document["images"], max_images)
    except ApiError:
        return None


@pytest.mark.parametrize(
    "dump",
    [
        lambda doc: json.dumps(doc),
        lambda doc: json.dumps(doc, separators=(",", ":")),
        lambda doc: json.dumps(doc, indent=2),
        lambda doc: "\r\n\t " + json.dumps(doc, indent="\t") + " \n",
    ],
    ids=["python-default", "compact", "indented", "tabs-and-crlf"],
)
def test_common_bodies_read_as_the_exact_path_reads_them(dump: Any) -> None:
    for count in (1, 3):
        body = dump({"images": IMAGES[:count].tolist()}).encode()
        fast = read_plain(body, 256)
        assert fast is not None and fast.dtype == np.uint8
        assert np.array_equal(fast, IMAGES[:count])
        reference = exact(body)
        assert reference is not None and np.array_equal(fast, reference)


def _body(text: str) -> bytes:
    return text.encode()


ONE = json.dumps({"images": IMAGES[:1].tolist()})


@pytest.mark.parametrize(
    "body",
    [
        ONE.replace("[0, 255, 10]", "[0.0, 255, 10]"),  # a float
        ONE.replace("[0, 255, 10]", "[-0, 255, 10]"),  # a sign
        ONE.replace("[0, 255, 10]", "[00, 255, 10]"),  # a leading zero (not JSON)
        ONE.replace("[0, 255, 10]", "[0, 256, 10]"),  # out of range
        ONE.replace("[0, 255, 10]", "[0, 99999999999999999999999, 10]"),  # past int64
        ONE.replace("[0, 255, 10]", "[0, 2 55, 10]"),  # whitespace inside a number
        ONE.replace("[0, 255, 10]", "[0, , 10]"),  # a missing number
        ONE.replace("[0, 255, 10]", "[0, 255, 10]7"),  # a stray number
        ONE.replace("[0, 255, 10]", "[0, 255]"),  # a pixel of two values
        ONE[:-1] + ', "k": 5}',  # another key
        ONE[:-2],  # cut short
        '{"images": []}',
        '{"images": [[[1, 2, 3]]]}',
        "[]",
        "",
    ],
    ids=[
        "float",
        "sign",
        "leading-zero",
        "256",
        "huge",
        "space-in-number",
        "missing-number",
        "stray-number",
        "short-pixel",
        "other-key",
        "truncated",
        "empty-list",
        "wrong-shape",
        "not-an-object",
        "empty",
    ],
)
def test_anything_else_is_left_to_the_exact_path(body: str) -> None:
    assert read_plain(_body(body), 256) is None


def test_more_images_than_allowed_are_left_to_the_exact_path() -> None:
    body = json.dumps({"images": IMAGES.tolist()}).encode()
    assert read_plain(body, 2) is None
    assert read_plain(body, 3) is not None


# Single bytes that can turn a valid body into a subtly different one.
MUTATIONS = st.sampled_from(list('0123456789[], \n\t-.e"}{:'))


@settings(max_examples=400, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0), st.sampled_from(["insert", "delete", "replace"]), MUTATIONS
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_mutated_body_is_read_only_as_the_exact_path_reads_it(
    edits: list[tuple[int, str, str]],
) -> None:
    text = json.dumps({"images": IMAGES[:1].tolist()}, separators=(",", ":"))
    for position, kind, char in edits:
        at = position % (len(text) + 1)
        if kind == "insert":
            text = text[:at] + char + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    body = text.encode()
    fast = read_plain(body, 256)
    if fast is not None:
        reference = exact(body)
        assert reference is not None, text
        assert np.array_equal(fast, reference)
