"""Issue 17, item 3: while a stream of worst-case predictions runs, `GET /jobs/{id}` keeps a p99
under 200 ms. A real API under uvicorn; two owners each keep their most predictions at once
running (PREDICT_MAX_CONCURRENT) of the costliest files the limits let through: 4096^2 PNG and
JPEG files up to the request's pixel budget, and WebP files of the largest size accepted up to
it. Figures and the machine they were measured on: docs/BENCHMARKS.md."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from core.settings import Settings
from core.store.migrate import upgrade
from testkit.processes import Processes
from testkit.starters import start_api
from tests.api.conftest import SPEC, auth, new_key
from tests.api.exported import succeed_with_exports

GETS = 200
QUIET_GETS = 50
PREDICTIONS = 6  # answered while the reads run, at least
GET_EVERY_S = 0.03
P99_LIMIT_S = 0.2
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]


@lru_cache(maxsize=8)
def image_file(format_: str, side: int) -> bytes:
    """Noise in a corner and flat elsewhere: small on the wire, every pixel to decode."""
    array = np.full((side, side, 3), 90, dtype=np.uint8)
    corner = min(side, 64)
    array[:corner, :corner] = np.random.default_rng(0).integers(0, 256, size=(corner, corner, 3))
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format_)
    return buffer.getvalue()


def json_images(count: int, last: str = "") -> bytes:
    """`count` images as JSON; with `last`, the last value spelled so (`1.0`: the exact path
    of json.loads, then a 422)."""
    row = "[" + ",".join(["[255,128,0]"] * 32) + "]"
    image = "[" + ",".join([row] * 32) + "]"
    body = '{"images":[' + ",".join([image] * count) + "]}"
    if last:
        body = body[: body.rindex("0]")] + last + body[body.rindex("0]") + 1 :]
    return body.encode()


Body = list[bytes] | bytes  # files, or a JSON body


def worst_requests() -> list[Body]:
    """The costliest bodies the limits allow: files at the request's pixel budget, and the
    largest JSON batch in its fast form and in the form only json.loads reads."""
    budget = DEFAULTS.predict_max_request_pixels
    big = int(DEFAULTS.predict_max_pixels**0.5)
    webp = int(DEFAULTS.predict_max_webp_pixels**0.5)
    most = DEFAULTS.predict_max_images
    return [
        [image_file("PNG", big)] * (budget // big**2),
        [image_file("WEBP", webp)] * min(most, budget // webp**2),
        json_images(most, last="1.0"),
        [image_file("JPEG", big)] * (budget // big**2),
        json_images(most),
    ]


def predicting(base: str, key: str, job: uuid.UUID, stop: threading.Event, out: list[int]) -> None:
    """Worst-case predictions one after the other until `stop`; their statuses into `out`
    (the JSON body with a float is a 422, counted as 200: it was read in full)."""
    bodies = worst_requests()
    with httpx.Client(base_url=base, headers=auth(key), timeout=120) as client:
        i = 0
        while not stop.is_set():
            body = bodies[i % len(bodies)]
            path = f"/jobs/{job}/predict"
            if isinstance(body, bytes):
                headers = {"Content-Type": "application/json"}
                answer = client.post(path, content=body, headers=headers)
                expected = 422 if b"1.0" in body else 200
            else:
                files = [("images", (f"{n}.img", b, "image/*")) for n, b in enumerate(body)]
                answer = client.post(path, files=files)
                expected = 200
            status = 200 if answer.status_code == expected else answer.status_code
            out.append(status)
            if status == 429:
                time.sleep(0.05)
            i += 1


def read(client: httpx.Client, job: uuid.UUID) -> float:
    """Seconds of one `GET /jobs/{id}`, then a pause (a client polling, not a flood)."""
    start = time.perf_counter()
    answer = client.get(f"/jobs/{job}")
    took = time.perf_counter() - start
    assert answer.status_code == 200, answer.text
    time.sleep(GET_EVERY_S)
    return took


def reads(base: str, key: str, job: uuid.UUID, count: int) -> list[float]:
    with httpx.Client(base_url=base, headers=auth(key), timeout=30) as client:
        return [read(client, job) for _ in range(count)]


@pytest.mark.slow
def test_job_reads_keep_a_p99_under_200_ms_during_worst_case_predictions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    keys = [new_key(url, "alice"), new_key(url, "bob")]
    processes = Processes(tmp_path / "logs")
    stop = threading.Event()
    statuses: list[int] = []
    threads: list[threading.Thread] = []
    try:
        _proc, base = start_api(
            processes, {"DATABASE_URL": url, "BROKER_URL": f"filesystem://{tmp_path}/broker"}
        )
        jobs = []
        for key in keys:
            answer = httpx.post(f"{base}/jobs", json=SPEC, headers=auth(key), timeout=30)
            assert answer.status_code == 201, answer.text
            jobs.append(uuid.UUID(answer.json()["id"]))
            succeed_with_exports(url, jobs[-1])
        quiet = reads(base, keys[0], jobs[0], QUIET_GETS)  # the same machine, no predictions
        for key, job in zip(keys, jobs, strict=True):
            for _ in range(DEFAULTS.predict_max_concurrent):
                thread = threading.Thread(
                    target=predicting, args=(base, key, job, stop, statuses), daemon=True
                )
                thread.start()
                threads.append(thread)
        deadline = time.monotonic() + 60
        while 200 not in statuses:  # the first answers: the pool is started, the models loaded
            assert time.monotonic() < deadline, (statuses, processes.diagnose())
            time.sleep(0.05)
        answered_before = len(statuses)
        took: list[float] = []
        with httpx.Client(base_url=base, headers=auth(keys[0]), timeout=30) as client:
            # At least GETS reads, and for as long as it takes the predictions to answer a few:
            # the pool's processes run below the API's priority, slowly on a busy machine.
            until = time.monotonic() + 90
            while len(took) < GETS or (
                statuses[answered_before:].count(200) < PREDICTIONS and time.monotonic() < until
            ):
                took.append(read(client, jobs[0]))
        answered = statuses[answered_before:]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        processes.stop_all()
    p50, p99 = np.percentile(took, [50, 99])
    q50, q99 = np.percentile(quiet, [50, 99])
    print(f"\nGET /jobs/{{id}} first, alone: p50 {q50 * 1000:.0f} ms, p99 {q99 * 1000:.0f} ms")
    print(
        f"GET /jobs/{{id}}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max "
        f"{max(took) * 1000:.0f} ms over {len(took)}; {answered.count(200)} predictions answered "
        f"meanwhile; load average {os.getloadavg()}"
    )
    assert set(answered) <= {200, 429}, answered
    assert answered.count(200) >= PREDICTIONS, answered  # the predictions did run meanwhile
    assert p99 < P99_LIMIT_S, f"p99 {p99 * 1000:.0f} ms, p50 {p50 * 1000:.0f} ms"
