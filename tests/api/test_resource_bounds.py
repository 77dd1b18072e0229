"""What the worst body the limits allow costs the API, route by route (issue 17): every route
that takes a body or gives a stream, with its wall time and the growth of the process's peak
memory measured in-process and bounded. The bounds are a few times what was measured on the
shared two-core test machine (docs/RELIABILITY.md, "Attacks tried")."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from core.store.migrate import upgrade
from tests.api.conftest import SPEC, Api, client_for, make_settings, new_key, succeed_job
from tests.api.exported import succeed_with_exports
from tests.api.meter import cost

BODY = 64 * 1024  # Settings.max_body_bytes
JSON_PREDICT = 5 * (1 << 20)  # Settings.predict_max_json_bytes
FILES = 64 * (1 << 20)  # Settings.predict_max_body_bytes


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, uuid.UUID, uuid.UUID]]:
    tmp: Path = tmp_path_factory.mktemp("resources")
    url = f"sqlite:///{tmp / 'service.db'}"
    upgrade(url)
    with client_for(make_settings(url, tmp)) as client:
        api = Api(client, url, new_key(url))
        model_job = api.new_job()
        succeed_with_exports(url, model_job)
        long_job = api.new_job(epochs=300)  # a stream that replays 300 epochs and ends
        succeed_job(url, long_job)
        yield api, model_job, long_job


def _unknown_keys(size: int) -> bytes:
    keys = (f'"k{i}":0' for i in range(size // 8))
    text = "{" + ",".join(keys)
    return (text[: size - 1].rsplit(",", 1)[0] + "}").encode()


def _nested(size: int) -> bytes:
    return b"[" * (size // 2) + b"]" * (size // 2)


def _grid(size: int) -> bytes:
    values = list(range(size // 8))
    body = {"base": SPEC, "grid": {"seed": values, "depth": [20, 56], "batch_size": [64, 128]}}
    text = json.dumps(body, separators=(",", ":"))
    while len(text) > size:
        values = values[: int(len(values) * 0.95)]
        body["grid"]["seed"] = values
        text = json.dumps(body, separators=(",", ":"))
    return text.encode()


def _noise_files(total: int, count: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    each = total // count - 400  # the multipart headers of each part
    blob = np.random.default_rng(0).integers(0, 256, each, dtype=np.uint8).tobytes()
    return [("images", (f"{i}.png", blob, "image/png")) for i in range(count)]


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((1, 1, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


JSON = {"Content-Type": "application/json"}


def _req(method: str, path: str, **kwargs: Any) -> Request:
    return method, path, kwargs


# (route, what is sent, expected status, seconds, MiB of growth at most)
Request = tuple[str, str, dict[str, Any]]  # method, path, what httpx builds the request from
Case = tuple[str, Callable[[uuid.UUID, uuid.UUID], Request], int, float, float]
CASES: dict[str, Case] = {
    "jobs: 64 KiB of unknown keys": (
        "POST /jobs",
        lambda m, s: _req("POST", "/jobs", content=_unknown_keys(BODY), headers=JSON),
        422,
        2.0,
        20,
    ),
    "jobs: 64 KiB of nesting": (
        "POST /jobs",
        lambda m, s: _req("POST", "/jobs", content=_nested(BODY), headers=JSON),
        400,
        2.0,
        20,
    ),
    "estimate: 64 KiB of unknown keys": (
        "POST /jobs/estimate",
        lambda m, s: _req("POST", "/jobs/estimate", content=_unknown_keys(BODY), headers=JSON),
        422,
        2.0,
        20,
    ),
    "rerun: 64 KiB of nesting": (
        "POST /jobs/{id}/rerun",
        lambda m, s: _req("POST", f"/jobs/{m}/rerun", content=_nested(BODY), headers=JSON),
        400,
        2.0,
        20,
    ),
    "sweeps: a 64 KiB grid": (
        "POST /sweeps",
        lambda m, s: _req("POST", "/sweeps", content=_grid(BODY), headers=JSON),
        422,
        2.0,
        20,
    ),
    "sweeps: 64 KiB of nesting": (
        "POST /sweeps",
        lambda m, s: _req("POST", "/sweeps", content=_nested(BODY), headers=JSON),
        400,
        2.0,
        20,
    ),
    "predict JSON: 5 MiB of empty lists": (
        "POST /jobs/{id}/predict",
        lambda m, s: _req(
            "POST",
            f"/jobs/{m}/predict",
            content=b'{"images":[' + b",".join([b"[]"] * (JSON_PREDICT // 3 - 10)) + b"]}",
            headers=JSON,
        ),
        422,
        5.0,
        50,
    ),
    "predict JSON: 256 images of 255s": (
        "POST /jobs/{id}/predict",
        lambda m, s: _req(
            "POST", f"/jobs/{m}/predict", json={"images": [[[[255] * 3] * 32] * 32] * 256}
        ),
        200,
        10.0,
        # A valid batch: the reading's copies and the inference of 256 images (measured 66).
        120,
    ),
    "predict files: 64 MiB in 64 files of noise": (
        "POST /jobs/{id}/predict",
        lambda m, s: _req("POST", f"/jobs/{m}/predict", files=_noise_files(FILES - 4096, 64)),
        422,
        10.0,
        # The parts are read into memory before decoding: the body once, and a copy.
        2.5 * FILES / (1 << 20),
    ),
    "predict files: 256 one-pixel images": (
        "POST /jobs/{id}/predict",
        lambda m, s: _req(
            "POST",
            f"/jobs/{m}/predict",
            files=[("images", (f"{i}.png", _tiny_png(), "image/png")) for i in range(256)],
        ),
        200,
        10.0,
        50,
    ),
    "job stream: 300 epochs replayed": (
        "GET /jobs/{id}/events/stream",
        lambda m, s: _req("GET", f"/jobs/{s}/events/stream", headers={"Last-Event-ID": "0"}),
        200,
        10.0,
        30,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_worst_body_costs_bounded_time_and_memory(
    env: tuple[Api, uuid.UUID, uuid.UUID], name: str
) -> None:
    api, model_job, long_job = env
    route, send, status, seconds, mib = CASES[name]
    method, path, kwargs = send(model_job, long_job)
    headers = {**api.headers, **kwargs.pop("headers", {})}
    client = api.client

    def built() -> Any:
        # Encoded before the reading: what is measured is the API's work, not the client's.
        request = client.build_request(method, path, headers=headers, **kwargs)
        request.read()
        return request

    client.send(built())  # warm the route: what grows next is the body's
    request = built()
    with cost() as reading:
        answer = client.send(request)
    assert answer.status_code == status, (name, answer.text[:300])
    print(
        f"{route} | {name} | {answer.status_code} | {reading.seconds:.3f} s | "
        f"{reading.grown_mib:.1f} MiB"
    )
    assert reading.seconds < seconds, (name, reading)
    assert reading.grown_mib < mib, (name, reading)
