"""A sweep's report selects on the validation split, beside the optimistic test-set choice
(issue 20)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.sweep_runs import finish

SEARCH = {
    "base": {"architecture": "resnet", "depth": 20, "epochs": 2, "validation_images": 5000},
    "grid": {"learning_rate": [0.01, 0.1, 0.5]},
}


def test_report_selects_on_validation_and_shows_the_test_selected_figure(api: Api) -> None:
    response = api.post("/sweeps", json=SEARCH)
    assert response.status_code == 201, response.text
    sweep = response.json()
    low, mid, high = (c["id"] for c in sweep["children"])
    child = api.get(f"/jobs/{low}").json()
    assert child["spec"]["validation_images"] == 5000 and child["spec"]["validation_seed"] == 0
    # Validation prefers lr 0.1 (errors 20, 10, 15 %); the test set alone would pick lr 0.5
    # (errors 14, 12, 9 %): the optimistic choice differs from the honest one.
    finish(api.database_url, low, test=[0.80, 0.86], validation=[0.70, 0.80])
    finish(api.database_url, mid, test=[0.80, 0.88], validation=[0.80, 0.90])
    finish(api.database_url, high, test=[0.80, 0.91], validation=[0.80, 0.85])

    report = api.get(f"/sweeps/{sweep['id']}/report").json()
    assert [r["final_validation_error"]["mean"] for r in report["rows"]] == pytest.approx(
        [0.20, 0.10, 0.15]  # fractions, as all of the API's JSON
    )
    honest, optimistic = report["selection"]["on_validation"], report["selection"]["on_test_set"]
    assert honest["configuration"] == {"learning_rate": 0.1}
    assert honest["test_error"]["mean"] == pytest.approx(0.12)
    assert honest["validation_error"]["mean"] == pytest.approx(0.10)
    assert optimistic["configuration"] == {"learning_rate": 0.5}
    assert optimistic["test_error"]["mean"] == pytest.approx(0.09)
    assert "optimistic" in optimistic["rule"] and "optimistic" not in honest["rule"]
    assert honest["candidates"] == 3

    markdown = api.get(f"/sweeps/{sweep['id']}/report", params={"format": "md"}).text
    assert "Selected on validation: learning_rate=0.1, test error 12.00 %" in markdown
    assert "Selected on the test set (optimistic): learning_rate=0.5, test error 9.00 %" in markdown
    csv = api.get(f"/sweeps/{sweep['id']}/report", params={"format": "csv"}).text
    assert csv.splitlines()[0].endswith(",final_validation_error_mean_pct")

    records = api.get(f"/jobs/{mid}/metrics").json()["records"]
    assert [r["validation_accuracy"] for r in records] == pytest.approx([0.80, 0.90])
    assert records[-1]["validation_loss"] == pytest.approx(0.10)


def test_without_a_split_only_the_optimistic_choice_is_made(api: Api) -> None:
    body = {**SEARCH, "base": {**SEARCH["base"], "validation_images": 0}}
    sweep = api.post("/sweeps", json=body).json()
    for child, accuracy in zip(sweep["children"], (0.8, 0.9, 0.85), strict=True):
        finish(api.database_url, child["id"], test=[accuracy])
    report = api.get(f"/sweeps/{sweep['id']}/report").json()
    assert report["selection"]["on_validation"] is None
    assert report["selection"]["on_test_set"]["configuration"] == {"learning_rate": 0.1}
    assert report["rows"][0]["final_validation_error"] is None


def test_paper_protocol_preset_holds_out_5000_images(api: Api) -> None:
    response = api.post("/sweeps", json={"preset": "he2016-cifar10-45k5k", "epochs": 2})
    assert response.status_code == 201, response.text
    children = response.json()["children"]
    assert [c["point"]["depth"] for c in children] == [20, 32, 44, 56, 110]
    spec = api.get(f"/jobs/{children[0]['id']}").json()["spec"]
    assert (spec["validation_images"], spec["epochs"]) == (5000, 2)


@pytest.mark.parametrize("count", [-1, 25001])
def test_validation_images_out_of_bounds_is_a_422(api: Api, count: int) -> None:
    response = api.post_job(validation_images=count)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "validation_images"
