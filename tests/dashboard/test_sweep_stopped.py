"""The sweep page with issue 20's endings, used the way a person uses it (headless Chromium
against the real API and worker): a child stopped early by ASHA shows the rung it reached, and
a cancelled run is queued again with "Retry failed runs"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.browser import Watch, screenshot
from tests.dashboard.conftest import Service
from tests.dashboard.test_sweep_page import create_sweep, row, wait_sweep
from tests.e2e.conftest import REQUEST

pytestmark = pytest.mark.slow


def test_stopped_child_shows_its_rung(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    with service.http() as http:
        # One at a time, in order: the good run reaches each rung first, the bad one is
        # compared with it at epoch 1 and stopped there.
        sweep = create_sweep(
            http,
            name="ASHA",
            base={**REQUEST, "epochs": 3, "validation_images": 100},
            grid={"learning_rate": [0.1, 1e-5]},
            max_parallel=1,
            early_stopping={"rule": "asha", "grace_epochs": 1, "reduction_factor": 2},
        )
        done = wait_sweep(
            http, sweep["id"], lambda s: s["progress"]["finished"] == 2, service, timeout=300
        )
    good, bad = (child["id"] for child in done["children"])
    assert [c["status"] for c in done["children"]] == ["succeeded", "stopped"], done
    tab.goto(f"{service.url}/#/sweeps/{sweep['id']}")
    tab.wait_for_selector(f"{row(bad)}[data-status=stopped]")
    note = tab.locator(f"{row(bad)} [data-col=rung]")
    assert note.text_content() == " at rung 0 (epoch 1)"
    assert (note.get_attribute("title") or "").startswith("ASHA: validation error")
    assert tab.locator(f"{row(bad)} .progress-text").text_content() == "1 / 3 epochs"
    assert tab.locator(f"{row(good)} [data-col=rung]").count() == 0
    tab.wait_for_selector("#sweep-counts .badge[data-status=stopped][data-count='1']")
    assert tab.locator("#retry-sweep").count() == 0  # a stopped run is not retried
    screenshot(tab, "sweep-stopped")
    watch.check()


def test_retry_button_queues_the_cancelled_runs_again(
    page: tuple[Any, Watch], service: Service
) -> None:
    tab, watch = page
    with service.http() as http:
        sweep = create_sweep(http, name="retry me", seeds=2)
        http.post(f"/sweeps/{sweep['id']}/cancel")
        ended = wait_sweep(
            http, sweep["id"], lambda s: s["progress"]["finished"] == 2, service, timeout=120
        )
    cancelled = [c["id"] for c in ended["children"] if c["status"] == "cancelled"]
    assert cancelled
    tab.goto(f"{service.url}/#/sweeps/{sweep['id']}")
    tab.wait_for_selector("#retry-sweep").click()
    tab.wait_for_selector(f"#notice:has-text('{len(cancelled)} runs queued again')")
    with service.http() as http:
        done = wait_sweep(
            http,
            sweep["id"],
            lambda s: s["counts"] == {"succeeded": 2},
            service,
            timeout=300,
        )
    for child in done["children"]:
        tab.wait_for_selector(f"{row(child['id'])}[data-status=succeeded]", timeout=30_000)
    assert tab.locator("#retry-sweep").count() == 0
    screenshot(tab, "sweep-retried")
    watch.check()
