"""A CIFAR-100 job in the dashboard (issue 18): trained by the real worker on generated CIFAR-100
files in the exact on-disk layout (`var/data/cifar-100-python/{train,test,meta}`, as published),
its page names the 100 classes by CIFAR-100's own names, read from the files' `meta`, and its
event log shows the final test error in %, not a raw accuracy. Its own service (CIFAR-100 only),
so `service` is overridden here; the browser and the signed-in tab come from conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.cifar_files import CIFAR100_CLASSES, write_cifar100
from tests.dashboard.browser import Watch, screenshot
from tests.dashboard.conftest import Service, make_run_service
from tests.e2e.conftest import submit, wait_job

pytestmark = pytest.mark.slow  # make run, a training run and a browser: about a minute


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # Two training images and one test image a class: 200 and 100, enough for 100 names.
    yield from make_run_service(
        tmp_path_factory.mktemp("cifar100-home"),
        lambda data: write_cifar100(data, train_per_class=2, test_per_class=1),
    )


def test_a_cifar100_job_shows_cifar100s_class_names(
    page: tuple[Any, Watch], service: Service
) -> None:
    tab, watch = page
    with service.http() as http:
        job_id = submit(http, dataset="cifar100", epochs=1, batch_size=50)
        job = wait_job(http, job_id, timeout=240, diagnose=service.processes.diagnose)
    assert job["status"] == "succeeded", job
    assert job["results"]["classes"] == CIFAR100_CLASSES  # from the files' meta, in label order

    tab.goto(f"{service.url}/#/jobs/{job_id}")
    tab.wait_for_selector("table.heatmap")
    rows = tab.locator("table.heatmap tbody th[scope=row]").all_text_contents()
    assert rows == CIFAR100_CLASSES
    columns = tab.locator("table.heatmap thead th.rot").all_text_contents()
    assert columns == CIFAR100_CLASSES
    per_class = tab.locator("table.per-class tbody th[scope=row]").all_text_contents()
    assert per_class[:3] == ["apple", "aquarium_fish", "baby"] and len(per_class) == 100

    # The final status line reads as the test error in %, as the rest of the page does.
    done = tab.wait_for_selector("#event-log li.ev-status:has-text('succeeded')")
    line = done.text_content() or ""
    error = 100 * (1 - job["final_test_accuracy"])
    assert f"final test error {error:.2f} %" in line, line
    assert "final_test_accuracy" not in line
    screenshot(tab, "job-cifar100")
    watch.check()
