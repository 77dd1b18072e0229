"""The sweep report's CSV: a standard deviation that is undefined (one run) is an empty cell,
not 0.0, which would read as a measured spread of nothing (issue 18)."""

from __future__ import annotations

import csv
import io

from core.sweeps.sweep_report import Spread, to_csv


def _row(errors: list[float]) -> dict[str, object]:
    spread = Spread.of(errors)
    assert spread is not None
    return {
        "architecture": "resnet",
        "depth": 20,
        "dataset": "cifar10",
        "configuration": {"depth": 20},
        "runs_finished": len(errors),
        "runs_total": 2,
        "final_error": spread.__dict__,
        "best_on_test_set_error": spread.__dict__,
        "reference": None,
    }


def test_std_of_one_run_is_empty_and_of_two_is_the_sample_std() -> None:
    table = list(csv.DictReader(io.StringIO(to_csv({"rows": [_row([8.0]), _row([8.0, 10.0])]}))))
    assert table[0]["final_error_std"] == "" and table[0]["final_error_mean"] == "8.0"
    assert float(table[1]["final_error_std"]) == round(2**0.5, 4)
