"""A minimal HTTP/1.1 keep-alive load generator on asyncio: lighter than httpx, so that it takes
less of the machine's cores from the servers it measures (bench/api_load.py,
bench/events_latency.py). A fixed number of requests over a fixed number of connections."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.harness import HOST


@dataclass
class Target:
    port: int
    method: str
    paths: list[str]  # one per connection, used round-robin
    headers: list[dict[str, str]]  # likewise
    body: bytes | None


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 300)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def _request_bytes(target: Target, index: int) -> bytes:
    path = target.paths[index % len(target.paths)]
    headers = {"Host": f"{HOST}:{target.port}", **target.headers[index % len(target.headers)]}
    if target.body is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(target.body))
    head = f"{target.method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode() + b"\r\n" + (target.body or b"")


async def _load(target: Target, connections: int, requests: int) -> Result:
    remaining = requests
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection(index: int) -> None:
        nonlocal remaining
        # Connection i takes owners i, i + connections, ...: every owner's queue grows alike.
        variants = max(len(target.paths), len(target.headers))
        cycle = [_request_bytes(target, j) for j in range(index % variants, variants, connections)]
        reader, writer = await asyncio.open_connection(HOST, target.port)
        try:
            sent = 0
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                writer.write(cycle[sent % len(cycle)])
                sent += 1
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(connections)))
    return Result(requests, time.perf_counter() - started, latencies, statuses)


def measure(target: Target, connections: int, requests: int, warmup: int) -> Result:
    asyncio.run(_load(target, connections, warmup))
    return asyncio.run(_load(target, connections, requests))
