"""The dashboard's browser tests' world: the service as `make run` starts it
(`python -m ops.run_local`: API, one real worker, SQLite, the filesystem broker) on generated
CIFAR-10 files, headless Chromium, and a signed-in tab. One server and one browser per test
module (test_browser.py, test_sweep_page.py), so that each module starts from an empty service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.builders import TEST_PER_CLASS, TRAIN_PER_CLASS
from testkit.cifar_files import write_cifar10
from testkit.processes import Processes
from testkit.starters import start_make_run
from tests.dashboard.browser import Watch, launch, require_browser


class Service:
    def __init__(self, url: str, key: str, processes: Processes) -> None:
        self.url = url
        self.key = key
        self.processes = processes

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30.0
        )


def make_run_service(home: Path, write_data: Callable[[Path], object]) -> Iterator[Service]:
    """`make run` as a person starts it, in `home`, on the data `write_data` puts in its
    DATA_DIR; stopped when the generator closes. One thread: the CPU is shared."""
    require_browser()
    write_data(home / "var" / "data")
    processes = Processes(home / "logs")
    try:
        _, url, key = start_make_run(processes, home, OMP_NUM_THREADS="1")
        yield Service(url, key, processes)
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from make_run_service(
        tmp_path_factory.mktemp("dashboard-home"),
        lambda data: write_cifar10(
            data, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
        ),
    )


@pytest.fixture(scope="module")
def browser(service: Service) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, service: Service) -> Iterator[tuple[Any, Watch]]:
    """A fresh tab at 1280x800, signed in through the #key= fragment."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    watch = Watch()
    watch.attach(tab)
    tab.goto(f"{service.url}/#key={service.key}")
    tab.wait_for_selector("#jobs-table")
    assert "key=" not in tab.url  # the key leaves the address bar at once
    yield tab, watch
    context.close()
