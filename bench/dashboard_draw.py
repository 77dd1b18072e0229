"""How fast the dashboard draws (issue 9), in headless Chromium against a real API.

    .venv/bin/python bench/dashboard_draw.py             # 5 runs of each page
    .venv/bin/python bench/dashboard_draw.py --runs 1    # a smoke run

Fills (bench/dashboard_fill.py) a fresh SQLite database through the job store's own functions (a
job claimed, one metrics record saved per epoch, finished with its results, as a worker does):
one ResNet-110 job with 500 epochs, 12 jobs of 164 epochs (plain and ResNet-20/32/44/56/110 on
two seeds) and 1,000 more queued jobs for the list. Starts uvicorn on it (no worker is needed)
and Debian's Chromium through Playwright, then times, in a fresh tab each run, from navigation
start to the moment the last chart has drawn every point (a MutationObserver on the chart's
data-points attribute, injected by this script; the page itself has no benchmark code):

- job page, 500 epochs: three charts (error, loss, learning rate) of 500 points;
- compare page, 12 jobs x 164 epochs: error chart (24 series) and loss chart (12 series);
- compare page in the Figure 6 layout: two panels of 6 jobs x 2 series;
- jobs page with 1,013 jobs: the first page of rows, and the next page after a click.

Prints one line per measurement (median and worst of the runs, milliseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.dashboard_fill import fill  # noqa: E402
from bench.harness import HOST, uvicorn_server  # noqa: E402
from testkit.processes import free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Records when each chart reached its number of points (performance.now(): ms since navigation).
OBSERVER = """
window.__drawn = {};
new MutationObserver((changes) => {
  for (const change of changes) {
    const el = change.target;
    const n = Number(el.dataset && el.dataset.points);
    // The first time a chart has drawn n points: later redraws (a resize) do not count.
    if (el.id && n && (window.__drawn[el.id] || [0])[0] !== n) {
      window.__drawn[el.id] = [n, performance.now()];
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-points"] });
"""


def until_drawn(tab: Any, wanted: dict[str, int], timeout_s: float = 60) -> float:
    """ms from navigation start until every chart in `wanted` has drawn its points."""
    tab.wait_for_function(
        "(wanted) => Object.entries(wanted)"
        ".every(([id, n]) => (window.__drawn[id] || [0])[0] >= n)",
        arg=wanted,
        timeout=timeout_s * 1000,
    )
    return float(tab.evaluate(f"Math.max(...{list(wanted)}.map((id) => window.__drawn[id][1]))"))


# When the page's own files, and then the API's answers, had all arrived (ms since navigation).
ARRIVALS = """() => {
  const done = (test) => Math.max(0, ...performance.getEntriesByType("resource")
    .filter((e) => test(new URL(e.name).pathname)).map((e) => e.responseEnd));
  const api = (p) => p.startsWith("/jobs") && !p.includes("/events");  // streams stay open
  return [done((p) => p.startsWith("/dashboard/")), done(api)];
}"""


def measure(
    browser: Any, base: str, key: str, route: str, wanted: dict[str, int]
) -> tuple[float, float, float]:
    """(drawn, page files in, API answers in): ms from navigation start."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(OBSERVER)
    tab = context.new_page()
    tab.goto(f"{base}/#key={key}&then={route}")
    elapsed = until_drawn(tab, wanted)
    files, answers = tab.evaluate(ARRIVALS)
    context.close()
    return elapsed, float(files), float(answers)


def measure_in_app(browser: Any, base: str, key: str, route: str, wanted: dict[str, int]) -> float:
    """ms from following a link inside the dashboard (the page already open on the jobs list)
    until every chart has drawn: the API's answers and the drawing, not the page's own files."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(OBSERVER)
    tab = context.new_page()
    tab.goto(f"{base}/#key={key}&then=/jobs")
    tab.wait_for_selector("#jobs-table tbody tr[data-id]")
    started = float(
        tab.evaluate(
            "(route) => { window.__drawn = {}; const t = performance.now(); "
            "location.hash = '#' + route; return t; }",
            route,
        )
    )
    elapsed = until_drawn(tab, wanted) - started
    context.close()
    return elapsed


def jobs_page(browser: Any, base: str, key: str) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.goto(f"{base}/#key={key}&then=/jobs")
    tab.wait_for_selector("#jobs-table tbody tr[data-id]")
    first = float(tab.evaluate("performance.now()"))
    before = tab.get_attribute("#jobs-table tbody tr[data-id]", "data-id")
    start = time.perf_counter()
    tab.click("#next-page")
    tab.wait_for_function(
        "(id) => document.querySelector('#jobs-table tbody tr[data-id]')?.dataset.id !== id",
        arg=before,
    )
    following = (time.perf_counter() - start) * 1000
    context.close()
    return first, following


def report(name: str, values: list[float]) -> None:
    print(f"{name:<70} median {statistics.median(values):7.0f} ms   worst {max(values):7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--folder", type=Path, help="keep the filled database here and reuse it on the next run"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = args.folder or Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'service.db'}"
    kept = folder / "filled.json"
    if kept.is_file():
        found = json.loads(kept.read_text())
        key, long_job, compared = found["key"], found["long_job"], found["compared"]
        print(f"reusing the database in {folder}")
    else:
        started = time.perf_counter()
        key, long_ids, compared_ids = fill(url)
        long_job, compared = str(long_ids), [str(one) for one in compared_ids]
        kept.write_text(json.dumps({"key": key, "long_job": long_job, "compared": compared}))
        print(f"filled the database in {time.perf_counter() - started:.1f} s ({folder})")
    port = free_port()
    env = {
        "DATABASE_URL": url,
        "BROKER_URL": f"filesystem://{folder}/broker",
        "MAX_QUEUED_PER_OWNER": "100000",
    }
    base = f"http://{HOST}:{port}"
    # The port, not /healthz: the filesystem broker is no broker /healthz can reach.
    with uvicorn_server(port, env, ready=None, start_timeout=60):
        print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}")
        ids = ",".join(str(one) for one in compared)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            print(f"browser: Chromium {browser.version}, headless, 1280x800")
            measure(browser, base, key, "/jobs", {})  # warm-up: server caches, modules
            results: dict[str, list[float]] = {}
            pages = {
                "job page, 500 epochs (3 charts)": (
                    f"/jobs/{long_job}",
                    {"chart-error": 500, "chart-loss": 500, "chart-lr": 500},
                ),
                "compare, 12 jobs x 164 epochs (overlay)": (
                    f"/compare?ids={ids}",
                    {"compare-chart-0": 164, "compare-chart-1": 164},
                ),
                "compare, 12 jobs x 164 epochs (Figure 6)": (
                    f"/compare?ids={ids}&layout=fig6",
                    {"compare-chart-0": 164, "compare-chart-1": 164},
                ),
            }
            for _ in range(args.runs):
                for name, (route, wanted) in pages.items():
                    drawn, files, answers = measure(browser, base, key, route, wanted)
                    results.setdefault(f"{name}: drawn", []).append(drawn)
                    results.setdefault(f"{name}: page files in", []).append(files)
                    results.setdefault(f"{name}: API answers in", []).append(answers)
                    results.setdefault(f"{name}: drawing after the answers", []).append(
                        drawn - answers
                    )
                    results.setdefault(f"{name}: from a link in the open page", []).append(
                        measure_in_app(browser, base, key, route, wanted)
                    )
                first, following = jobs_page(browser, base, key)
                results.setdefault("jobs page, 1,013 jobs: first 25 rows", []).append(first)
                results.setdefault("jobs page, 1,013 jobs: next page (click to rows)", []).append(
                    following
                )
            browser.close()
        print(f"ms from navigation start (fresh tab, empty cache), {args.runs} runs:")
        for name, values in results.items():
            report(name, values)


if __name__ == "__main__":
    main()
