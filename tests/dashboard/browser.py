"""Debian's Chromium driven by Playwright, and what a page logged while a test used it.

Playwright's own browser download does not work on these machines, so the browser is the system
package (`apt-get install chromium chromium-driver`, which `make test` does as root when it is
missing). Without it the browser tests are skipped, except under CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
STREAM_404 = (404, "/events/stream")  # only where the API has no event streams (before #8)


def require_browser() -> None:
    """Skip (fail under CI) when Chromium or Playwright is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[dev]')")
    if missing:
        message = "browser tests need " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


@dataclass
class Watch:
    """Script errors, console errors and failed answers of one page.

    Chromium logs every answer of 400 or more as a console error ("Failed to load resource");
    those are the API's answers, and each test says which ones it expects (a 422 for a bad field).
    Anything else in the console is a failure."""

    errors: list[str] = field(default_factory=list)
    failed_loads: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)

    def attach(self, page: Any) -> Any:
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)
        return page

    def _console(self, message: Any) -> None:
        if message.type not in ("error", "assert"):
            return
        if message.text.startswith("Failed to load resource: the server responded with"):
            self.failed_loads += 1
        else:
            self.errors.append(f"console {message.type}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append((response.status, urlparse(response.url).path))

    def check(self, *expected: tuple[int, str]) -> None:
        assert not self.errors, "\n".join(self.errors)
        unexpected = [one for one in self.failed if one not in expected]
        assert not unexpected, f"unexpected failed requests: {unexpected}"
        assert self.failed_loads <= len(self.failed), "a resource failed that no answer explains"


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
