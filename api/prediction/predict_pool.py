"""Where predictions spend their CPU (issue 17, item 3): decoding the files (Pillow) or reading a
JSON body, and running the network (onnxruntime), in a pool of processes of their own (the files'
headers are read against the pixel budget before, in the API: api/prediction/predict_gate.py).

In threads of the API process, the same work took the event loop's and the database routes'
share of the cores and of the GIL (the WebP decoder and `json.loads` hold it): during worst-case
predictions `GET /jobs/{id}` had a p99 of 409 ms on a 2-core machine. The pool's processes have
a GIL each and run at a lower priority (`os.nice`), so that the API's own threads win the cores
(onnxruntime keeps as many threads as cores, which a batch's throughput needs); figures in
docs/BENCHMARKS.md. The pool starts with the first prediction (forkserver: clean processes,
whatever threads the API has), and a process that dies (out of memory, a crashing decoder)
fails its own request only: the pool is started again for the next. `PREDICT_PROCESSES=0` runs
the same work in threads of the API.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import numpy as np

from api.errors import ApiError, ErrorResponse
from api.prediction.json_body import read_images
from api.prediction.onnx_models import SIDE, ModelFile, SessionCache, decode_file, run_model
from core.vocabulary import ErrorCode

NICE = 10  # CFS weight 110 against the API's 1024: the API's threads get about 90 % of a core


@dataclass(frozen=True)
class Limits:
    max_images: int
    max_pixels: int
    request_pixels: int
    webp_pixels: int


@dataclass(frozen=True)
class Work:
    """One prediction, as sent to a pool process: files or a JSON body, and the model."""

    model: ModelFile
    k: int
    limits: Limits
    files: list[bytes] | None = None
    json_body: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    top: list[list[dict[str, Any]]] | None = None
    # An ApiError does not pickle; its parts do.
    error: tuple[int, dict[str, Any], dict[str, str] | None] | None = None


_sessions: SessionCache | None = None  # in each pool process, and in the API with 0 processes


def _start(cache_bytes: int, threads: int, nice: int) -> None:
    global _sessions
    if nice:
        os.nice(nice)
    _sessions = SessionCache(cache_bytes, threads)


def predict(work: Work) -> Outcome:
    """Decode and classify: in a pool process (or a thread, with no processes)."""
    assert _sessions is not None, "the pool process was not started by PredictPool"
    try:
        limits = work.limits
        if work.files is not None:
            images = np.empty((len(work.files), SIDE, SIDE, 3), dtype=np.uint8)
            for i, blob in enumerate(work.files):
                images[i] = decode_file(blob, f"images.{i}", limits.max_pixels)
        else:
            _names, images = read_images(work.json_body or b"", limits.max_images)
        session = _sessions.session(work.model)
        return Outcome(top=run_model(session, work.model.classes, images, work.k))
    except ApiError as error:
        return Outcome(error=(error.status, error.body.model_dump(mode="json"), error.headers))


class PredictPool:
    """`processes` processes for predictions, started at the first; 0: threads of this one."""

    def __init__(self, *, processes: int, cache_bytes: int, threads: int) -> None:
        self.processes = processes
        self.cache_bytes = cache_bytes
        self.threads = threads
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(2)  # with no processes: threads at once
        if processes == 0:
            _start(cache_bytes, threads, 0)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                # Imported once in the fork server, so that each process starts in milliseconds.
                context.set_forkserver_preload([__name__])
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=context,
                    initializer=_start,
                    initargs=(self.cache_bytes, self.threads, NICE),
                )
            return self._executor

    async def run(self, work: Work) -> list[list[dict[str, Any]]]:
        if self.processes == 0:
            outcome = await anyio.to_thread.run_sync(predict, work, limiter=self._limiter)
        else:
            pool = self._pool()
            try:
                outcome = await asyncio.wrap_future(pool.submit(predict, work))
            except BrokenProcessPool:
                with self._lock:
                    if self._executor is pool:
                        self._executor = None
                pool.shutdown(wait=False)
                # Not the request's fault and not lasting (the next request starts a new pool):
                # a 503 the client may retry, never a 500.
                raise ApiError(
                    503,
                    ErrorCode.prediction_unavailable,
                    "the process decoding your images ended before it answered (out of "
                    "memory?); retry, or send fewer or smaller images",
                    headers={"Retry-After": "1"},
                ) from None
        if outcome.error is not None:
            status, body, headers = outcome.error
            error = ErrorResponse.model_validate(body).error
            raise ApiError(status, error.code, error.message, error.fields, headers)
        assert outcome.top is not None
        return outcome.top

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
