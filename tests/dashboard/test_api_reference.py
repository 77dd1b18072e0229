"""/docs and /redoc with no network (issue 18): every request that leaves 127.0.0.1 is aborted,
and both pages still list the API's operations, under a content security policy that the
browser enforces (any violation is a console error, which fails the test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from testkit.processes import Processes
from testkit.starters import start_api
from tests.dashboard.browser import Watch, launch, require_browser, screenshot

REDOC_LOGO = "'https://cdn.redoc.ly/redoc/logo-mini.svg' violates the following Content Security"


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    home = tmp_path_factory.mktemp("reference")
    processes = Processes(home / "logs")
    env = {
        "DATABASE_URL": f"sqlite:///{home / 'unused.db'}",  # the reference reads no rows
        "BROKER_URL": f"filesystem://{home / 'broker'}",
    }
    try:
        _, url = start_api(processes, env)
        yield url
    finally:
        processes.stop_all()


@pytest.fixture
def offline_page(api_url: str) -> Iterator[tuple[Any, Watch, list[str]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        blocked: list[str] = []

        def only_local(route: Any) -> None:
            if urlparse(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        watch = Watch()
        watch.attach(page)
        yield page, watch, blocked
        browser.close()


def operation_summaries(api_url: str) -> list[str]:
    schema = httpx.get(f"{api_url}/openapi.json", timeout=30).json()
    return [op["summary"] for methods in schema["paths"].values() for op in methods.values()]


def test_swagger_ui_lists_the_operations_offline(
    api_url: str, offline_page: tuple[Any, Watch, list[str]]
) -> None:
    page, watch, blocked = offline_page
    answer = page.goto(f"{api_url}/docs")
    assert "script-src 'self' 'sha256-" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=30_000)
    listed = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/jobs" in [text.strip().replace("\u200b", "") for text in listed]
    assert page.locator(".opblock").count() == len(operation_summaries(api_url))
    screenshot(page, "reference-swagger", full_page=False)
    watch.check()
    assert not blocked, f"the page asked the network for {blocked}"


def test_redoc_lists_the_operations_offline(
    api_url: str, offline_page: tuple[Any, Watch, list[str]]
) -> None:
    page, watch, blocked = offline_page
    answer = page.goto(f"{api_url}/redoc")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    page.wait_for_selector("[data-section-id^='tag/jobs']", timeout=60_000)
    body = page.locator("body").inner_text()
    missing = [summary for summary in operation_summaries(api_url) if summary not in body]
    assert not missing, f"ReDoc does not list {missing}"
    screenshot(page, "reference-redoc", full_page=False)
    # ReDoc 2.x always tries its maker's logo from their CDN (and hides it when that fails); the
    # policy refusing it is the policy at work, and the only console error allowed.
    watch.errors = [error for error in watch.errors if REDOC_LOGO not in error]
    watch.check()
    assert not blocked, f"the page asked the network for {blocked}"


def test_reference_assets_come_from_the_installed_package() -> None:
    from api.routes.api_reference import ASSETS

    assert {path.name for path in Path(ASSETS).iterdir()} >= {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "redoc.standalone.js",
    }
