"""The dashboard's files as the API serves them: the page at /, every module it imports, the
vendored chart library with its licence and pinned version, nothing from another origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.dashboard import STATIC
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"""^\s*import\s[^"']*?["']([^"']+)["'];?""", re.MULTILINE)
UPLOT_ESM_SHA256 = "5dd9b3281aa64b461b42d9945f6adb2649d346502b12281a9ae0d46599a80eba"


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder = tmp_path_factory.mktemp("dashboard")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'service.db'}",
        broker_url=f"filesystem://{folder}/broker",
    )
    return TestClient(create_app(settings))


def own_files(suffix: str) -> list[Path]:
    return [p for p in STATIC.rglob(f"*{suffix}") if "vendor" not in p.parts]


def test_root_serves_the_page_with_a_same_origin_policy(http: TestClient) -> None:
    answer = http.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/dashboard/js/main.js">' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_docs_and_schema_stay_where_they_were(http: TestClient) -> None:
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/dashboard") for p in paths)


def test_every_file_the_page_names_is_served(http: TestClient) -> None:
    html = (STATIC / "index.html").read_text()
    named = re.findall(r'(?:src|href)="(/dashboard/[^"]+)"', html)
    for path in named:
        assert http.get(path).status_code == 200, path
    # Every module is preloaded (no waterfall of imports), and the list has no stale entry.
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/dashboard/([^"]+)">', html))
    modules = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")}
    assert preloaded == modules - {"js/main.js"}


def test_every_page_has_a_route_and_the_nav_links_routed_pages() -> None:
    main = (STATIC / "js" / "main.js").read_text()
    imported = set(re.findall(r'from "\./(pages/[a-z]+\.js)"', main))
    pages = {
        p.relative_to(STATIC / "js").as_posix() for p in (STATIC / "js" / "pages").glob("*.js")
    }
    assert imported == pages, "a page module the router does not import (or a stale import)"
    routed = set(re.findall(r'^\s*\[/\^.*, \w+Page, "(\w+)"\],$', main, re.MULTILINE))
    nav = set(re.findall(r'data-page="(\w+)"', (STATIC / "index.html").read_text()))
    assert {"jobs", "sweeps", "submit", "compare"} <= nav
    assert nav <= routed, f"nav links without a route: {nav - routed}"


def test_every_module_import_resolves_to_a_served_file(http: TestClient) -> None:
    modules = own_files(".js")
    assert len(modules) >= 10
    for module in modules:
        for target in IMPORT.findall(module.read_text()):
            assert target.startswith("."), f"{module}: bare import {target!r} needs a build step"
            resolved = (module.parent / target).resolve()
            assert resolved.is_file(), f"{module.relative_to(STATIC)} imports missing {target}"
            url = "/dashboard/" + resolved.relative_to(STATIC).as_posix()
            answer = http.get(url)
            assert answer.status_code == 200 and "javascript" in answer.headers["content-type"]


def test_nothing_is_loaded_from_another_origin() -> None:
    for path in [STATIC / "index.html", *own_files(".js"), *own_files(".css")]:
        text = path.read_text()
        # Links in comments and the docs link are fine; loads (import, src, url(), fetch) are not.
        assert not re.search(r"""(import|src=|url\(|fetch\()\s*["']?(https?:)?//""", text), path


def test_missing_file_is_a_404_in_the_api_error_shape(http: TestClient) -> None:
    answer = http.get("/dashboard/js/nope.js")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_uplot_is_vendored_pinned_and_licensed() -> None:
    vendor = STATIC / "vendor" / "uplot"
    note = (vendor / "VERSION").read_text()
    assert "uPlot 1.6.32" in note and "npm pack uplot@1.6.32" in note
    assert "MIT" in (vendor / "LICENSE").read_text()
    digest = hashlib.sha256((vendor / "uPlot.esm.js").read_bytes()).hexdigest()
    assert digest == UPLOT_ESM_SHA256, "uPlot.esm.js differs from the pinned release"


def test_static_files_ship_with_the_package() -> None:
    # A regex, not tomllib: the project supports Python 3.10.
    found = re.search(r'^"api\.dashboard" = \[(.*)\]', (REPO / "pyproject.toml").read_text(), re.M)
    assert found is not None, "pyproject.toml ships no api.dashboard package data"
    patterns = re.findall(r'"([^"]+)"', found[1])
    package = STATIC.parent
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    assert shipped == {p for p in STATIC.rglob("*") if p.is_file()}


def test_static_files_hold_no_status_or_class_lists_of_their_own(http: TestClient) -> None:
    # Issue 16: the statuses come from /openapi.json, the class names from the job's results.
    from core.class_names import CLASS_NAMES
    from core.vocabulary import JobStatus

    words = [
        {status.value for status in JobStatus},
        *(set(names) for names in CLASS_NAMES.values()),
    ]
    for path in own_files(".js"):
        # Each array (or Set) literal of quoted words in the file.
        for literal in re.findall(r"""\[\s*((?:["'][\w-]+["']\s*,?\s*)+)\]""", path.read_text()):
            quoted = set(re.findall(r"""["']([\w-]+)["']""", literal))
            assert all(len(quoted & listed) < 3 for listed in words), (path, quoted)
    schema = http.get("/openapi.json").json()["components"]["schemas"]["JobStatus"]
    assert schema["enum"] == [status.value for status in JobStatus]
    assert schema["x-final"] == [status.value for status in JobStatus if status.terminal]
