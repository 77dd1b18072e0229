"""The dashboard used the way a person uses it: headless Chromium against the service started as
`make run` starts it (`python -m ops.run_local`: API, one real worker, SQLite, the filesystem
broker), on generated CIFAR-10 files. One server and one browser for the module; each test
saves screenshots under var/screenshots/ and fails on any script or console error. The server,
the browser and the signed-in tab are the fixtures of conftest.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.browser import STREAM_404, Watch, screenshot
from tests.dashboard.conftest import Service
from tests.e2e.conftest import REQUEST, submit, wait_job

pytestmark = pytest.mark.slow


def points(tab: Any, selector: str) -> int:
    value = tab.get_attribute(selector, "data-points")
    return int(value) if value else 0


def wait_points(tab: Any, selector: str, at_least: int, timeout_s: float) -> int:
    tab.wait_for_function(
        "([s, n]) => Number(document.querySelector(s)?.dataset.points || 0) >= n",
        arg=[selector, at_least],
        timeout=timeout_s * 1000,
    )
    return points(tab, selector)


def test_sign_in_with_a_pasted_key(browser: Any, service: Service) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    watch = Watch()
    watch.attach(tab)
    tab.goto(service.url)
    tab.fill("#api-key", "crs_not_a_key")
    tab.click("form.signin button[type=submit]")
    tab.wait_for_selector("#notice:has-text('refused this key')")
    tab.fill("#api-key", service.key)
    tab.click("form.signin button[type=submit]")
    tab.wait_for_selector("#jobs-table")
    stored = tab.evaluate("sessionStorage.getItem('crs.apiKey')")
    assert stored == service.key
    assert context.cookies() == []  # never a cookie
    watch.check((401, "/jobs"), STREAM_404)
    context.close()


def test_submit_from_form_field_error_then_live_curves_and_weights(
    page: tuple[Any, Watch], service: Service
) -> None:
    tab, watch = page
    screenshot(tab, "jobs-empty")
    tab.click("#nav a[data-page=submit]")
    tab.wait_for_selector("#job-form")
    # Every field of the API's JobRequest has a control, pre-filled with the API's default.
    schema = httpx.get(f"{service.url}/openapi.json").json()["components"]["schemas"]
    request_fields = schema["JobRequest"]["properties"]
    for name, spec in request_fields.items():
        control = tab.locator(f"#field-{name}")
        assert control.count() == 1, name
        default = spec.get("default")
        if isinstance(default, bool):
            assert control.is_checked() == default, name
        elif isinstance(default, int | float):
            assert float(control.input_value()) == pytest.approx(default), name
        elif isinstance(default, str):
            assert control.input_value() == default, name

    # The step recipe, then a depth the API refuses: its reason shows beside the field.
    tab.select_option("#preset", "step")
    assert tab.input_value("#field-epochs") == "250"
    assert tab.input_value("#field-lr_schedule") == "step"
    tab.fill("#field-depth", "55")
    tab.click("#submit-job")
    error = tab.wait_for_selector("#field-depth-error:not(:empty)")
    assert "6n+2" in error.text_content()
    assert tab.get_attribute("#field-depth", "aria-invalid") == "true"
    tab.evaluate("window.scrollTo(0, 0)")
    screenshot(tab, "submit-field-error", full_page=False)

    # A small job from the form: ResNet-8, 4 epochs on the generated images.
    tab.select_option("#preset", "paper")
    tab.fill("#field-depth", str(REQUEST["depth"]))
    tab.fill("#field-epochs", "4")
    tab.fill("#field-batch_size", str(REQUEST["batch_size"]))
    tab.click("#submit-job")
    tab.wait_for_url(re.compile(r"#/jobs/[0-9a-f-]{36}$"))
    job_id = tab.url.rsplit("/", 1)[1]
    tab.evaluate("window.__sameDocument = true")

    # The chart gains points as epochs finish, with no reload.
    first = wait_points(tab, "#chart-error", 1, 240)
    second = wait_points(tab, "#chart-error", first + 1, 240)
    assert second > first
    assert tab.evaluate("window.__sameDocument") is True
    tab.wait_for_selector(".badge[data-status=succeeded]", timeout=240_000)
    assert wait_points(tab, "#chart-error", 4, 30) == 4
    assert points(tab, "#chart-loss") == 4 and points(tab, "#chart-lr") == 4
    tab.wait_for_selector("table.heatmap")
    assert tab.locator("table.heatmap tbody tr").count() == 10
    # The rows are named by the job's results (the data set's names), not by the page.
    names = tab.locator("table.heatmap tbody th[scope=row]").all_text_contents()
    with service.http() as http:
        assert names == http.get(f"/jobs/{job_id}").json()["results"]["classes"]
    assert names[0] == "airplane"
    assert tab.evaluate("window.__sameDocument") is True

    # Values on keyboard focus: the legend shows the focused epoch's test error.
    tab.focus("#chart-error")
    tab.keyboard.press("Home")
    legend = tab.locator("#chart-error .u-legend").text_content() or ""
    assert "%" in legend
    screenshot(tab, "job")

    with tab.expect_download() as waiting:
        tab.click("#download-weights")
    download = waiting.value
    with service.http() as http:
        expected = http.get(f"/jobs/{job_id}/weights").content
    assert Path(download.path()).read_bytes() == expected
    assert download.suggested_filename == f"resnet8-{job_id}.pt"
    watch.check((422, "/jobs"), STREAM_404)


def test_compare_two_jobs(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    with service.http() as http:
        done = [
            job["id"] for job in http.get("/jobs", params={"status": "succeeded"}).json()["jobs"]
        ]
        plain = submit(http, architecture="plain", epochs=2)
        wait_job(http, plain, timeout=300, diagnose=service.processes.diagnose)
    ids = [str(plain), done[0]]
    tab.reload()
    tab.wait_for_selector("#jobs-table")
    for job_id in ids:
        tab.check(f"input.pick[data-id='{job_id}']")
    tab.click("#compare-selected")
    tab.wait_for_selector("#compare-chart-0[data-points]")
    assert all(job_id in tab.url for job_id in ids)  # the selection is in the URL
    header = tab.locator("#compare-table thead").text_content() or ""
    assert "architecture" in header and "epochs" in header  # the fields that differ
    assert "learning rate" not in header  # and only those
    assert tab.locator("#compare-table tbody tr").count() == 2
    # Two series per job (test solid, train dashed), one colour per job, in the legend.
    assert tab.locator("#compare-chart-0 .u-legend .u-series").count() == 1 + 2 * len(ids)
    screenshot(tab, "compare")

    tab.check("input[name=layout][value=fig6]")
    assert "layout=fig6" in tab.url
    tab.wait_for_selector("#compare-chart-1[data-points]")
    titles = tab.locator("#compare-charts .u-title").all_text_contents()
    assert titles == ["plain networks", "ResNets"]
    screenshot(tab, "compare-figure6")

    # The URL alone reproduces it in another tab (bookmarked, or shared with someone who has a
    # key): the key is per tab, so it asks for one first, then shows the same comparison.
    url = tab.url
    other = tab.context.new_page()
    other.goto(url)
    other.fill("#api-key", service.key)
    other.click("form.signin button[type=submit]")
    other.wait_for_selector("#compare-chart-1[data-points]")
    assert other.url == url
    assert other.locator("#compare-table tbody tr").count() == 2
    other.close()
    watch.check(STREAM_404)


def test_cancel_a_running_job(page: tuple[Any, Watch], service: Service) -> None:
    tab, watch = page
    with service.http() as http:
        job_id = submit(http, epochs=100)
        wait_job(http, job_id, ("running",), timeout=120, diagnose=service.processes.diagnose)
    tab.goto(f"{service.url}/#/jobs/{job_id}")
    tab.wait_for_selector(".badge[data-status=running]")
    tab.click("#cancel-job")
    tab.wait_for_selector("#cancel-dialog[open]")
    tab.click("#cancel-dialog button[value=keep]")  # a second thought first
    assert tab.locator(".badge[data-status=running]").count() == 1
    tab.click("#cancel-job")
    tab.click("#confirm-cancel")
    tab.wait_for_selector(".badge[data-status=cancelled]", timeout=120_000)
    assert tab.get_attribute("#download-weights", "disabled") is not None
    with service.http() as http:
        assert http.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
    watch.check(STREAM_404)


def test_jobs_page_is_live_and_readable_at_phone_width(browser: Any, service: Service) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    tab = context.new_page()
    watch = Watch()
    watch.attach(tab)
    tab.goto(f"{service.url}/#key={service.key}")
    tab.wait_for_selector("#jobs-table")
    # A job submitted elsewhere shows up, and moves on, without a reload.
    with service.http() as http:
        job_id = submit(http, epochs=1)
        row = f"#jobs-table tr[data-id='{job_id}']"
        tab.wait_for_selector(row, timeout=60_000)
        answered = wait_job(http, job_id, timeout=300, diagnose=service.processes.diagnose)
    assert answered["status"] == "succeeded", answered
    tab.wait_for_selector(f"{row}[data-status=succeeded]", timeout=15_000)
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    screenshot(tab, "jobs-phone")
    context.close()

    wide = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = wide.new_page()
    watch.attach(tab)
    tab.goto(f"{service.url}/#key={service.key}")
    tab.wait_for_selector(f"#jobs-table tr[data-id='{job_id}']")
    screenshot(tab, "jobs")
    # Keyboard: the status filter and a row's link are reachable and work.
    tab.focus("#status-filter")
    tab.select_option("#status-filter", "succeeded")
    tab.wait_for_url(re.compile(r"status=succeeded"))
    tab.wait_for_selector(f"#jobs-table tr[data-id='{job_id}']")
    statuses = tab.eval_on_selector_all(
        "#jobs-table tbody tr[data-id]", "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses and set(statuses) == {"succeeded"}
    # The filter keeps the focus through the new page; Tab goes on past the disabled Compare.
    assert tab.evaluate("document.activeElement.id") == "status-filter"
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "New job"
    wide.close()
    watch.check(STREAM_404)
