"""The sweeps page's form (issue 18): a preset narrowed to some depths, previewed through
`POST /sweeps?dry_run=true` as the fields change, then started; in headless Chromium against
the service as `make run` starts it (conftest.py), on a service of its own so that the sweep it
starts touches no other test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.dashboard.browser import Watch, screenshot
from tests.dashboard.conftest import Service

pytestmark = pytest.mark.slow


def test_sweep_form_previews_a_narrowed_preset_then_starts_it(
    page: tuple[Any, Watch], service: Service
) -> None:
    tab, watch = page
    tab.click("#nav a[data-page=sweeps]")
    tab.click("#new-sweep summary")
    tab.wait_for_selector("#sweep-total:has-text('9 jobs')")
    for depth in ("32", "44", "56", "110"):
        tab.uncheck(f"#sweep-depth input[value='{depth}']")
    tab.fill("#sweep-seeds", "2")
    tab.fill("#sweep-epochs", "1")
    tab.wait_for_selector("#sweep-total:has-text('4 jobs')")
    networks = tab.locator("#sweep-preview-children tbody td:first-child").all_inner_texts()
    assert networks == ["plain-20", "plain-20", "ResNet-20", "ResNet-20"]
    assert "training FLOPs" in tab.inner_text("#sweep-total")
    screenshot(tab, "sweep-form-preview")
    with service.http() as http:
        assert http.get("/sweeps").json()["sweeps"] == []  # previews create nothing

    tab.uncheck("#sweep-depth input[value='20']")  # no depth left: the API's 422, shown
    tab.wait_for_selector("#sweep-preview .form-error:has-text('grid.depth')")
    assert tab.is_disabled("#sweep-start")
    tab.check("#sweep-depth input[value='20']")
    tab.wait_for_selector("#sweep-total:has-text('4 jobs')")

    tab.click("#sweep-start")
    tab.wait_for_url(re.compile(r"#/sweeps/[0-9a-f-]{36}$"))
    sweep_id = tab.url.rsplit("/", 1)[-1]
    with service.http() as http:
        sweep = http.get(f"/sweeps/{sweep_id}").json()
        assert sweep["progress"]["total"] == 4
        assert sweep["varying"] == ["architecture", "seed"]  # depth 20 only: it does not vary
        http.post(f"/sweeps/{sweep_id}/cancel")  # the CPU is shared; the form is what is tested
    watch.check((422, "/sweeps"))
