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
    rows = [_row([0.08]), _row([0.08, 0.10])]
    table = list(csv.DictReader(io.StringIO(to_csv({"rows": rows}))))
    assert table[0]["final_error_std_pct"] == "" and table[0]["final_error_mean_pct"] == "8.0"
    assert float(table[1]["final_error_std_pct"]) == round(100 * 0.02 / 2**0.5, 4)


def test_the_csv_is_in_percent_and_its_columns_say_so() -> None:
    """People open the CSV in a spreadsheet: % as in the paper; the JSON keeps fractions."""
    header, *_ = to_csv({"rows": [_row([0.0841, 0.0859])]}).splitlines()
    errors = [c for c in header.split(",") if "error" in c or c == "difference_pct"]
    assert errors and all(c.endswith("_pct") for c in errors), errors
    table = list(csv.DictReader(io.StringIO(to_csv({"rows": [_row([0.0841, 0.0859])]}))))
    assert table[0]["final_error_mean_pct"] == "8.5"
    assert (table[0]["final_error_min_pct"], table[0]["final_error_max_pct"]) == ("8.41", "8.59")
