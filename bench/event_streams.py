"""The load of bench/events_latency.py's second part: many SSE streams held open on one asyncio
loop, and progress reports published for many jobs at once, as training processes publish them."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import uuid
from typing import Any

from bench.harness import HOST


class Streams:
    """`count` SSE streams held open by one asyncio loop in a thread; counts what arrives."""

    def __init__(self, port: int, key: str, job_ids: list[uuid.UUID]) -> None:
        self.port, self.key, self.job_ids = port, key, job_ids
        self.open = 0
        self.received = 0  # bytes
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    def start(self, timeout: float = 120) -> None:
        self.thread.start()
        if not self.opened.wait(timeout):
            raise RuntimeError(f"only {self.open} of {len(self.job_ids)} streams opened")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)

    async def _main(self) -> None:
        tasks = [asyncio.create_task(self._one(job_id)) for job_id in self.job_ids]
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, job_id: uuid.UUID) -> None:
        # A raw HTTP/1.1 request: the client's own cost stays out of the API's measurement.
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(
                f"GET /jobs/{job_id}/events/stream HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Authorization: Bearer {self.key}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise RuntimeError(head[:200])
            self.open += 1
            if self.open == len(self.job_ids):
                self.opened.set()
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                self.received += len(chunk)
        finally:
            writer.close()


class ProgressReports:
    """Progress reports for every job at `hz` per second, published as training processes do."""

    def __init__(self, redis_url: str, job_ids: list[uuid.UUID], hz: float) -> None:
        self.redis_url, self.job_ids, self.hz = redis_url, job_ids, hz
        self.done = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from core.messaging.event_channel import (
            PROGRESS_TTL_S,
            client,
            progress_channel,
            progress_key,
            progress_payload,
        )

        redis = client(self.redis_url)
        while not self.done.wait(1 / self.hz):
            now = datetime.datetime.now(datetime.UTC).isoformat()
            pipe = redis.pipeline(transaction=False)
            for job_id in self.job_ids:
                data = {
                    "epoch": 2,
                    "epochs": 164,
                    "batch": 100,
                    "batches_per_epoch": 391,
                    "images_per_second": 3500.0,
                    "epoch_eta_seconds": 10.0,
                    "eta_seconds": 2300.0,
                    "at": now,
                }
                pipe.publish(progress_channel(self.redis_url), progress_payload(job_id, data))
                pipe.set(progress_key(job_id), json.dumps(data), ex=PROGRESS_TTL_S)
            pipe.execute()
            self.sent += len(self.job_ids)

    def __enter__(self) -> ProgressReports:
        if self.hz > 0:
            self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join(10)
