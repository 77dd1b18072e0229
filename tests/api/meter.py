"""Measuring what one request costs the API in-process (a TestClient runs the app in this
process): wall time and the growth of the peak resident memory over the reading before it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from testkit.procfs import peak_rss_kib, reset_peak_rss, rss_kib


@dataclass
class Cost:
    seconds: float = 0.0
    grown_mib: float = 0.0  # peak RSS during the block minus RSS before it


@contextmanager
def cost() -> Iterator[Cost]:
    pid = os.getpid()
    reading = Cost()
    reset_peak_rss(pid)
    before = rss_kib(pid)
    start = time.perf_counter()
    yield reading
    reading.seconds = time.perf_counter() - start
    reading.grown_mib = (peak_rss_kib(pid) - before) / 1024
