"""The submit form shows the estimate of what it holds and asks again as fields change
(POST /jobs/estimate, issue 18); a value the API refuses is said there in one line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.browser import Watch

pytestmark = pytest.mark.slow

SHOWS = "(text) => (document.querySelector('#estimate')?.textContent || '').includes(text)"


def test_estimate_follows_the_form(page: tuple[Any, Watch]) -> None:
    tab, _watch = page
    tab.click("#nav a[data-page=submit]")
    tab.wait_for_selector("#job-form")
    # ResNet-20, the form's start: 0.27M parameters (He et al. 2016, table 6).
    tab.wait_for_function(SHOWS, arg="269,722")
    tab.fill("#field-depth", "56")
    tab.wait_for_function(SHOWS, arg="853,018")
    tab.fill("#field-depth", "55")
    tab.wait_for_function(SHOWS, arg="depth:")
