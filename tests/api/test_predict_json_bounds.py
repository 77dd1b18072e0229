"""Predict's JSON path within bounded memory (issue 17, items 2, 7 and 10): the worst bodies the
JSON limit allows, deep nesting, booleans."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from api.errors import ApiError
from api.prediction.json_body import read_images
from tests.api.conftest import Api
from tests.api.exported import succeed_with_exports
from tests.api.meter import cost

LIMIT = 5 * (1 << 20)  # Settings.predict_max_json_bytes


def _fill(unit: bytes, limit: int = LIMIT) -> bytes:
    """{"images": [unit, unit, ...]} of at most `limit` bytes."""
    head, tail = b'{"images": [', b"]}"
    count = (limit - len(head) - len(tail)) // (len(unit) + 1)
    return head + b",".join([unit] * count) + tail


# What the fast reader leaves to json.loads, at the limit: floats, big integers, empty lists,
# booleans, nested pairs; each once grew the API by tens of times its size.
WORST = {
    "floats": _fill(b"1.5"),
    "big_integers": _fill(b"1000"),
    "empty_lists": _fill(b"[]"),
    "booleans": _fill(b"true"),
    "pairs": _fill(b"[[1,2]]"),
    "images_of_floats": json.dumps({"images": [[[[0.5] * 3] * 32] * 32] * 256}).encode(),
}


@pytest.fixture
def job(api: Api) -> uuid.UUID:
    job_id = api.new_job()
    succeed_with_exports(api.database_url, job_id)
    return job_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", list(WORST))
def test_worst_json_body_is_answered_with_little_memory(
    api: Api, job: uuid.UUID, name: str
) -> None:
    body = WORST[name]
    assert len(body) <= LIMIT
    headers = {"Content-Type": "application/json"}
    with cost() as reading:
        answer = api.post(f"/jobs/{job}/predict", content=body, headers=headers)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["error"]["fields"], answer.text[:300]
    assert reading.grown_mib < 50, (name, reading)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_json_body_over_its_limit_is_a_413(api: Api, job: uuid.UUID) -> None:
    body = _fill(b"0", LIMIT + 100)
    headers = {"Content-Type": "application/json"}
    answer = api.post(f"/jobs/{job}/predict", content=body, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_256_images_as_json_dumps_writes_them_fit_the_limit() -> None:
    images = np.full((256, 32, 32, 3), 255, dtype=np.uint8)
    body = json.dumps({"images": images.tolist()}).encode()
    assert len(body) <= LIMIT
    names, read = read_images(body, 256)
    assert len(names) == 256 and (read == 255).all()


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_deep_nesting_is_a_422(depth: int) -> None:
    body = b'{"images": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(ApiError) as caught:
        read_images(body, 256)
    assert caught.value.status == 422


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deep_nesting_through_the_api_is_a_422(api: Api, job: uuid.UUID) -> None:
    body = b'{"images": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    headers = {"Content-Type": "application/json"}
    answer = api.post(f"/jobs/{job}/predict", content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] in ("body", "images")


@pytest.mark.parametrize("value", ["true", "false"])
def test_booleans_are_not_pixels(value: str) -> None:
    image = np.zeros((32, 32, 3), dtype=np.uint8).tolist()
    # one boolean among integers, in the second image's last pixel
    text = json.dumps({"images": [image, image]}).removesuffix("0]]]]}") + value + "]]]]}"
    with pytest.raises(ApiError) as caught:
        read_images(text.encode(), 256)
    field = caught.value.body.error.fields[0]
    assert field.field == "images.1" and "integers" in field.reason
