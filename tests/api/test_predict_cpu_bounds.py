"""Predict's CPU within bounds (issue 17, item 3): a pixel budget per request checked from the
headers, decoding in a pool of its own, a per-owner cap on predictions at once."""

from __future__ import annotations

import io
import os
import signal
import time
import uuid

import numpy as np
import pytest
from PIL import Image

from core.settings import Settings
from tests.api.conftest import Api, client_for
from tests.api.exported import succeed_with_exports

SIDE = 4096


def big_file(format_: str, side: int = SIDE) -> bytes:
    """A side x side image of noise in a small corner and flat elsewhere: small on the wire,
    every pixel to decode."""
    array = np.zeros((side, side, 3), dtype=np.uint8)
    corner = min(side, 64)
    array[:corner, :corner] = np.random.default_rng(0).integers(0, 256, size=(corner, corner, 3))
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format_)
    return buffer.getvalue()


def files(*blobs: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (f"{i}.img", b, "application/octet-stream")) for i, b in enumerate(blobs)]


@pytest.fixture
def job(api: Api) -> uuid.UUID:
    job_id = api.new_job()
    succeed_with_exports(api.database_url, job_id)
    return job_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_files_over_the_pixel_budget_are_refused_before_decoding(api: Api, job: uuid.UUID) -> None:
    blob = big_file("PNG")
    start = time.perf_counter()
    answer = api.post(f"/jobs/{job}/predict", files=files(*[blob] * 5))  # 5 x 4096^2 > 4 x
    seconds = time.perf_counter() - start
    assert answer.status_code == 422, answer.text
    field = answer.json()["error"]["fields"][0]
    assert field["field"] == "images" and "before decoding" in field["reason"]
    assert seconds < 2.0  # decoding five of them takes several seconds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_large_webp_is_refused_before_decoding(api: Api, job: uuid.UUID) -> None:
    answer = api.post(f"/jobs/{job}/predict", files=files(big_file("PNG", 32), big_file("WEBP")))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["fields"][0]["field"] == "images.1"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_owner_past_their_predictions_at_once_gets_429(api: Api, job: uuid.UUID) -> None:
    api.client.app.state.predict_gate.leases.per_owner = 0  # type: ignore[attr-defined]
    answer = api.post(f"/jobs/{job}/predict", files=files(big_file("PNG", 32)))
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "too_many_requests"
    assert int(answer.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dead_pool_process_fails_its_request_only(api: Api, job: uuid.UUID) -> None:
    """A prediction process killed (out of memory, a crashing decoder): a 503 with Retry-After
    (never a 500) for the request it held, and the next prediction gets a new pool."""
    small = files(big_file("PNG", 32))
    first = api.post(f"/jobs/{job}/predict", files=small)
    assert first.status_code == 200, first.text
    pool = api.client.app.state.predict_pool  # type: ignore[attr-defined]
    for pid in list(pool._executor._processes):
        os.kill(pid, signal.SIGKILL)
    answer = api.post(f"/jobs/{job}/predict", files=small)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "prediction_unavailable"
    assert int(answer.headers["Retry-After"]) >= 1
    assert "ended before it answered" in answer.json()["error"]["message"]
    again = api.post(f"/jobs/{job}/predict", files=small)
    assert again.status_code == 200, again.text
    assert again.json()["predictions"] == first.json()["predictions"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_predictions_in_threads_of_the_api_answer_as_in_its_processes(
    api: Api, job: uuid.UUID, settings: Settings
) -> None:
    """PREDICT_PROCESSES=0: the same work in threads of the API process, the same answers."""
    blobs = files(big_file("PNG", 32), big_file("JPEG", 512), big_file("WEBP", 64))
    pooled = api.post(f"/jobs/{job}/predict?k=3", files=blobs)
    assert pooled.status_code == 200, pooled.text
    with client_for(settings.model_copy(update={"predict_processes": 0})) as client:
        in_threads = Api(client, api.database_url, api.key)
        threaded = in_threads.post(f"/jobs/{job}/predict?k=3", files=blobs)
        assert client.app.state.predict_pool._executor is None  # type: ignore[attr-defined]
    assert threaded.status_code == 200, threaded.text
    assert threaded.json() == pooled.json()
