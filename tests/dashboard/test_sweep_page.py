"""The sweep pages (issue 10) used the way a person uses them: headless Chromium against the
service as `make run` starts it (conftest.py: API, one real worker, generated CIFAR-10 files),
with sweeps made through the real API and trained by the real worker. Each test saves
screenshots under var/screenshots/ and fails on any script or console error."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.browser import STREAM_404, Watch, screenshot
from tests.dashboard.conftest import Service
from tests.e2e.conftest import REQUEST, TERMINAL, submit, wait_job

pytestmark = pytest.mark.slow


def create_sweep(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    """POST /sweeps of tiny ResNet-8 jobs (one epoch unless `base` says otherwise)."""
    body = {"base": {**REQUEST, "epochs": 1}, **fields}
    answer = http.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    sweep: dict[str, Any] = answer.json()
    return sweep


def wait_sweep(
    http: httpx.Client,
    sweep_id: str,
    until: Callable[[dict[str, Any]], bool],
    service: Service,
    timeout: float = 180,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        sweep: dict[str, Any] = http.get(f"/sweeps/{sweep_id}").json()
        if until(sweep):
            return sweep
        if time.monotonic() > deadline:
            raise AssertionError(f"sweep {sweep_id}: {sweep}\n{service.processes.diagnose()}")
        time.sleep(0.1)


def row(child_id: str) -> str:
    return f"#sweep-children tr[data-id='{child_id}']"


def test_no_sweeps_yet_and_an_unknown_sweep(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    tab.click("#nav a[data-page=sweeps]")
    tab.wait_for_selector("#sweeps-table td:has-text('No sweeps yet')")
    assert tab.get_attribute("#nav a[data-page=sweeps]", "aria-current") == "page"
    missing = uuid.uuid4()
    tab.goto(f"{service.url}/#/sweeps/{missing}")
    message = tab.wait_for_selector("#sweep-missing").text_content() or ""
    assert str(missing) in message and "no sweep" in message.lower()
    assert tab.locator("h1").text_content() == "Sweep not found"
    watch.check((404, f"/sweeps/{missing}"), STREAM_404)


def test_a_sweep_from_queued_to_its_report_and_figure_live(
    page: tuple[Any, Watch], service: Service
) -> None:
    tab, watch = page
    with service.http() as http:
        # A long job holds the only worker: the sweep's runs wait in the queue until it stops.
        blocker = submit(http, epochs=100)
        wait_job(http, blocker, ("running",), timeout=120, diagnose=service.processes.diagnose)
        # Two epochs: a curve of one point draws no line in the figure.
        sweep = create_sweep(
            http, name="depth 8 and 20", base={**REQUEST, "epochs": 2}, grid={"depth": [8, 20]}
        )
    sweep_id = sweep["id"]
    children = {child["point"]["depth"]: child["id"] for child in sweep["children"]}
    assert sorted(children) == [8, 20]

    # The list: the sweep, its runs counted by status, its progress.
    tab.click("#nav a[data-page=sweeps]")
    listed = f"#sweeps-table tr[data-id='{sweep_id}']"
    tab.wait_for_selector(listed)
    assert tab.locator(f"{listed} a").text_content() == "depth 8 and 20"
    assert tab.locator(f"{listed} .badge[data-status=queued]").text_content() == "2 queued"
    assert "0 / 2 runs ended" in (tab.locator(f"{listed} .progress-text").text_content() or "")
    screenshot(tab, "sweeps")

    # The sweep: both runs with their grid values, queued; nothing to report or draw yet.
    tab.click(f"{listed} a")
    tab.wait_for_url(re.compile(rf"#/sweeps/{sweep_id}$"))
    for depth, child_id in children.items():
        tab.wait_for_selector(f"{row(child_id)}[data-status=queued]")
        assert tab.locator(f"{row(child_id)} td[data-field=depth]").text_content() == str(depth)
    assert (tab.locator("#sweep-children thead").text_content() or "").startswith("depth")
    empty = tab.wait_for_selector("#report-empty").text_content() or ""
    assert "No finished runs yet" in empty
    tab.wait_for_selector("#figure-message:has-text('once a run has finished')")
    compare = tab.get_attribute("#compare-runs", "href") or ""
    assert compare.startswith("#/compare?ids=") and all(c in compare for c in children.values())
    assert tab.locator("#cancel-sweep").count() == 1
    tab.evaluate("window.__sameDocument = true")

    # The worker is freed: the runs start and end, and the page follows without a reload.
    with service.http() as http:
        assert http.post(f"/jobs/{blocker}/cancel").status_code == 202  # stops between batches
        done = wait_sweep(
            http, sweep_id, lambda s: s["progress"]["finished"] == 2, service, timeout=300
        )
        report = http.get(f"/sweeps/{sweep_id}/report").json()
        csv = http.get(f"/sweeps/{sweep_id}/report", params={"format": "csv"}).content
    assert done["counts"] == {"succeeded": 2}, done
    for child_id in children.values():
        tab.wait_for_selector(f"{row(child_id)}[data-status=succeeded]", timeout=15_000)
    assert tab.evaluate("window.__sameDocument") is True
    tab.wait_for_selector("#sweep-counts .badge[data-status=succeeded][data-count='2']")
    tab.wait_for_selector("#sweep-progress:has-text('2 / 2 runs ended')")
    assert tab.locator("#cancel-sweep").count() == 0  # nothing left to cancel
    for child in done["children"]:
        final = tab.locator(f"{row(child['id'])} td[data-col=final]").text_content() or ""
        assert final == f"{100 * child['final_test_error']:.2f} %"  # the API's fraction
    best = tab.wait_for_selector(f"{row(children[8])} td[data-col=best]:has-text('(ep. ')")
    assert re.fullmatch(r"\d+\.\d\d % \(ep\. [12]\)", best.text_content() or "")

    # The report filled in as the runs ended: the API's fractions in % (2 decimals, as the
    # Markdown report), beside the published ones.
    # Functions, not bare expressions: Playwright polls an expression with eval(), which the
    # dashboard's CSP (script-src 'self') refuses whenever the first check is false.
    tab.wait_for_function(
        "() => document.querySelectorAll('#report-table tbody tr').length === 2 && "
        "[...document.querySelectorAll('#report-table td[data-col=runs]')]"
        ".every(td => td.textContent === '1 / 1')",
        timeout=30_000,
    )
    for expected in report["rows"]:
        shown = f"#report-table tr[data-depth='{expected['depth']}']"
        final = tab.locator(f"{shown} td[data-col=final]").text_content() or ""
        assert final == f"{100 * expected['final_error']['mean']:.2f}"
        best = tab.locator(f"{shown} td[data-col=best]").text_content() or ""
        assert best == f"{100 * expected['best_on_test_set_error']['mean']:.2f}"
    published = "#report-table tr[data-depth='20']"
    reference = next(r for r in report["rows"] if r["depth"] == 20)["reference"]
    assert reference["source"] == "he2016" and reference["error"] == 0.0875
    assert (tab.locator(f"{published} td[data-col=published]").text_content() or "").startswith(
        "8.75"
    )
    source = tab.locator(f"{published} td[data-col=source] a")
    assert source.text_content() == "he2016" and source.get_attribute("href") == reference["url"]
    difference = tab.locator(f"{published} td[data-col=difference]").text_content() or ""
    assert difference == f"{100 * reference['difference']:+.2f}"
    assert (
        tab.locator("#report-table tr[data-depth='8'] td[data-col=published]").text_content() == "—"
    )

    # The figure, fetched with the key in a header and shown from an object URL.
    tab.wait_for_function(
        "() => document.querySelector('#sweep-figure-img')?.naturalWidth > 0", timeout=30_000
    )
    assert (tab.get_attribute("#sweep-figure-img", "src") or "").startswith("blob:")
    screenshot(tab, "sweep")

    with tab.expect_download() as waiting:
        tab.click("#report-csv")
    download = waiting.value
    assert Path(download.path()).read_bytes() == csv
    assert download.suggested_filename == f"sweep-{sweep_id}-report.csv"  # the API names it

    # A run's job page links back to its sweep.
    tab.click(f"{row(children[20])} a")
    tab.wait_for_url(re.compile(rf"#/jobs/{children[20]}"))
    back = tab.wait_for_selector("#job-sweep a")
    assert back.get_attribute("href") == f"#/sweeps/{sweep_id}"
    assert "depth 8 and 20" in (back.text_content() or "")
    back.click()
    tab.wait_for_selector(f"{row(children[20])}[data-status=succeeded]")
    watch.check(STREAM_404)


def test_cancel_an_unfinished_sweep(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    with service.http() as http:
        sweep = create_sweep(
            http,
            name="to cancel",
            base={**REQUEST, "epochs": 100},
            grid={"learning_rate": [0.1, 0.05]},
        )
        sweep_id = sweep["id"]
        wait_sweep(http, sweep_id, lambda s: s["counts"].get("running") == 1, service)
    first, second = (child["id"] for child in sweep["children"])
    tab.goto(f"{service.url}/#/sweeps/{sweep_id}")
    tab.wait_for_selector(f"{row(first)}[data-status=running]")
    assert tab.locator(f"{row(first)} td[data-field=learning_rate]").text_content() == "0.1"
    assert tab.locator(f"{row(second)}[data-status=queued]").count() == 1
    # The running run's progress, with its ETA, moves on without a reload.
    tab.wait_for_selector(f"{row(first)} .progress-text:has-text('ETA')", timeout=60_000)
    screenshot(tab, "sweep-running")

    tab.click("#cancel-sweep")
    tab.wait_for_selector("#cancel-dialog[open]")
    tab.click("#cancel-dialog button[value=keep]")  # a second thought first
    assert tab.locator(f"{row(second)}[data-status=queued]").count() == 1
    tab.click("#cancel-sweep")
    tab.click("#confirm-cancel")
    tab.wait_for_selector("#notice:has-text('Sweep cancelled')")
    for child_id in (first, second):
        tab.wait_for_selector(f"{row(child_id)}[data-status=cancelled]", timeout=120_000)
    assert tab.locator("#cancel-sweep").count() == 0
    assert "No finished runs yet" in (tab.locator("#report-empty").text_content() or "")
    with service.http() as http:
        answered = http.get(f"/sweeps/{sweep_id}").json()
    assert answered["cancel_requested"] is True
    assert {child["status"] for child in answered["children"]} == {"cancelled"}
    assert set(TERMINAL) >= set(answered["counts"])
    watch.check(STREAM_404)
