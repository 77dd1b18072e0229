"""Following a job across lost connections: a cut connection and a restarted API process. The
client reconnects with Last-Event-ID and gets every stored event once, in order."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.client.conftest import JOB, Service, cli_env
from tests.client.proxy import Proxy
from tests.client.terminal import Terminal

pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(service: Service) -> Iterator[Proxy]:
    opened = Proxy(int(urlsplit(service.url).port or 80))
    try:
        yield opened
    finally:
        opened.close()


class Follower:
    """`crs events ID --follow --json` through the proxy, its lines read as they come."""

    def __init__(self, url: str, key: str, job_id: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "client", "events", job_id, "--follow", "--json"],
            env=cli_env(CRS_URL=url, CRS_API_KEY=key),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.events.append(json.loads(line))

    def wait_for_epoch(self, epoch: int, timeout: float, diagnose: str) -> None:
        deadline = time.monotonic() + timeout
        while not any(
            e["type"] == "epoch" and e["data"]["epoch"] >= epoch for e in list(self.events)
        ):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no epoch {epoch} yet: {self.events}\n{diagnose}")
            time.sleep(0.05)

    def last_id(self) -> int:
        return max(e["id"] for e in self.events if e["id"] is not None)


def test_follow_survives_cut_connection_and_api_restart_missing_nothing(
    service: Service, proxy: Proxy
) -> None:
    with service.client() as client:
        job = client.submit(**{**JOB, "epochs": 6})
    follower = Follower(proxy.url, service.key, job.id)
    # And a person watching the same job through the same proxy, in a terminal.
    watcher = Terminal(["watch", job.id], CRS_URL=proxy.url, CRS_API_KEY=service.key)
    try:
        follower.wait_for_epoch(1, 300, service.processes.diagnose())
        cut_after = follower.last_id()
        proxy.cut()

        follower.wait_for_epoch(3, 300, service.processes.diagnose())
        assert service.api is not None
        service.api.send_signal(signal.SIGKILL)
        assert service.api.wait(10) is not None
        time.sleep(1)  # a few refused reconnects while no API listens
        proxy.upstream_port = int(urlsplit(service.start_api()).port or 80)

        status = follower.popen.wait(timeout=300)
        watched = watcher.wait(120)
    finally:
        if follower.popen.poll() is None:
            follower.popen.kill()
        watcher.close()
    assert follower.popen.stderr is not None
    assert status == 0, f"{follower.popen.stderr.read()}\n{service.processes.diagnose()}"

    with service.client() as client:
        stored = [event.id for event in client.all_events(job.id)]
        assert client.job(job.id).status == "succeeded"
    received = [e["id"] for e in follower.events]
    assert received == stored  # every stored event, once, in order
    assert [e["data"]["epoch"] for e in follower.events if e["type"] == "epoch"] == list(
        range(1, 7)
    )
    assert follower.events[-1]["type"] == "status"
    assert follower.events[-1]["data"]["status"] == "succeeded"

    # The reconnects said where they were: the first after the cut names the last id seen then.
    resumed = [
        int(found[1])
        for head in proxy.requests
        if (found := re.search(rb"(?i)\r\nlast-event-id: (\d+)\r\n", head))
    ]
    assert resumed, proxy.requests
    assert resumed[0] >= cut_after
    assert len(proxy.requests) >= 3  # the first connection, one after the cut, one after restart

    lines = watcher.text.splitlines()
    assert watched == 0, watcher.text
    assert any(line.startswith("connection lost (") for line in lines), watcher.text
    for epoch in range(1, 7):
        assert sum(line.startswith(f"epoch {epoch}/6  train loss") for line in lines) == 1
    assert "succeeded: final test error" in watcher.text
