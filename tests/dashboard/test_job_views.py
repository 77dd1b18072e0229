"""The job page and the jobs list as issue 18 asked: curves above a folded spec, an event log in
time order without a synthetic first entry, a running job's latest test error and its sweep in
the list, and the submit form's columns inside the page at 1400 px. Headless Chromium against
the service as `make run` starts it (conftest.py); screenshots under var/screenshots/."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.dashboard.browser import Watch, screenshot
from tests.dashboard.conftest import Service
from tests.e2e.conftest import REQUEST, submit, wait_job

pytestmark = pytest.mark.slow


def running_sweep_child(http: httpx.Client, service: Service) -> dict[str, Any]:
    """A sweep child that runs long enough to be looked at, with one epoch recorded."""
    body = {"name": "views", "base": {**REQUEST, "epochs": 60}, "seeds": 2}
    answer = http.post("/sweeps", json=body)
    assert answer.status_code == 201, answer.text
    child_id = answer.json()["children"][0]["id"]
    deadline = time.monotonic() + 180
    while True:
        job: dict[str, Any] = http.get(f"/jobs/{child_id}").json()
        if job["status"] == "running" and job["latest_metrics"]:
            return job
        assert time.monotonic() < deadline, f"{job}\n{service.processes.diagnose()}"
        time.sleep(0.2)


def test_job_page_list_and_submit_form(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    with service.http() as http:
        # A finished job: the submit form's `init_from` then lists it, its longest option.
        wait_job(http, submit(http, epochs=1), diagnose=service.processes.diagnose)
        job = running_sweep_child(http, service)
        sweep_id = job["sweep_id"]

        tab.goto(f"{service.url}/#/jobs")
        row = f"#jobs-table tr[data-id='{job['id']}']"
        tab.wait_for_selector(f"{row} .latest-error:has-text('latest, ep.')")
        assert tab.inner_text(f"{row} .job-sweep") == "sweep views"
        assert tab.get_attribute(f"{row} .job-sweep", "href") == f"#/sweeps/{sweep_id}"
        screenshot(tab, "jobs-list-running")

        tab.goto(f"{service.url}/#/jobs/{job['id']}")
        tab.wait_for_selector("#event-log li")
        charts = tab.locator("canvas").first.bounding_box()
        spec = tab.locator("#spec-details").bounding_box()
        assert charts and spec and charts["y"] < spec["y"], "the curves come before the spec"
        assert not tab.is_visible("#job-spec")  # folded until asked for
        screenshot(tab, "job-page-running", full_page=False)
        tab.click("#spec-details summary")
        assert tab.is_visible("#job-spec")
        # A CIFAR job: no rows of dashes for an uploaded data set's facts (issue 19).
        keys = tab.locator("#job-spec th").all_text_contents()
        assert "depth" in keys and not [k for k in keys if k.startswith("dataset ")], keys

        http.post(f"/sweeps/{sweep_id}/cancel")  # the CPU is shared
        wait_job(http, job["id"], diagnose=service.processes.diagnose)
    tab.wait_for_selector("#event-log li.ev-status:has-text('cancelled')")
    entries = tab.locator("#event-log li")
    texts = entries.all_inner_texts()
    assert not any("loaded" in text for text in texts), texts
    assert not any("status status" in text for text in texts), texts
    times = [
        int(at) for at in tab.eval_on_selector_all("#event-log li", "l => l.map(e => e.dataset.at)")
    ]
    assert times == sorted(times, reverse=True), "newest first, by the events' own times"
    screenshot(tab, "job-page-log")

    tab.set_viewport_size({"width": 1400, "height": 900})
    tab.goto(f"{service.url}/#/submit")
    tab.wait_for_selector(".spec-form .field")
    clipped = tab.evaluate(
        """() => {
          const page = document.documentElement.clientWidth;
          return [...document.querySelectorAll('.spec-form .field input, .spec-form .field select')]
            .filter((el) => el.getBoundingClientRect().right > page + 0.5)
            .map((el) => el.id);
        }"""
    )
    assert clipped == [], f"fields past the page's right edge: {clipped}"
    assert tab.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    screenshot(tab, "submit-1400", full_page=False)
    watch.check()
