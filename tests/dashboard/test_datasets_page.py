"""The data sets page (issue 19) used the way a person uses it: headless Chromium against
`make run` (its dataset worker processes the upload), an image-folder archive uploaded through
the form, its classes and sample images shown, offered by the submit form, then deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit.dataset_files import image_folder_archive
from tests.dashboard.browser import Watch, screenshot
from tests.dashboard.conftest import Service

pytestmark = pytest.mark.slow

CLASSES = ["amber", "cobalt", "jade"]


def test_upload_show_offer_and_delete_a_dataset(
    page: tuple[Any, Watch], service: Service, tmp_path: Path
) -> None:
    tab, watch = page
    tab.click("#nav a[data-page=datasets]")
    tab.wait_for_selector("#datasets-table tr[data-name=cifar10]")
    assert tab.get_attribute("#nav a[data-page=datasets]", "aria-current") == "page"

    archive = image_folder_archive(tmp_path / "colours.zip", CLASSES, per_class=8)
    tab.set_input_files("#dataset-file", str(archive))
    tab.fill("#dataset-name", "colours")
    tab.click("#upload")
    tab.wait_for_selector("#dataset-status[data-status=ready]", timeout=120_000)
    assert tab.locator("#class-table tbody tr").count() == 3
    assert tab.locator("#class-table img.sample").count() == 3 * 4
    assert tab.inner_text("h1") == "colours"
    screenshot(tab, "dataset-page")
    dataset_id = tab.url.rsplit("/", 1)[-1]

    tab.click("#nav a[data-page=submit]")
    tab.wait_for_selector(f"#field-dataset option[value='{dataset_id}']", state="attached")
    tab.select_option("#field-dataset", dataset_id)

    tab.goto(f"{service.url}/#/datasets/{dataset_id}")
    tab.wait_for_selector("#dataset-status[data-status=ready]")
    tab.click("#delete")
    tab.click("#confirm-delete")
    tab.wait_for_selector("#datasets-table tr[data-name=cifar10]")
    assert tab.locator(f"#datasets-table tr[data-id='{dataset_id}']").count() == 0
    screenshot(tab, "datasets-page")
    watch.check()
