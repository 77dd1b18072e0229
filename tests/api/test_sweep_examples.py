"""The /sweeps examples shown at /docs are what the API sends: they validate against their
models, and their errors are fractions as the schema says (issue 18)."""

from __future__ import annotations

from api.schemas import sweep_examples
from api.schemas.sweep_report import SweepReport
from api.schemas.sweeps import SweepView


def test_report_example_validates_and_its_errors_are_fractions() -> None:
    report = SweepReport.model_validate(sweep_examples.REPORT)
    row = report.rows[0]
    assert row.final_error is not None and row.reference is not None
    errors = [row.final_error.mean, row.reference.error, *row.curves.test_error]
    assert all(0 <= e <= 1 for e in errors), errors
    assert report.definitions["unit"] == "fraction"


def test_sweep_example_validates_with_a_fractional_final_error() -> None:
    sweep = SweepView.model_validate(sweep_examples.SWEEP)
    error = sweep.children[0].final_test_error
    assert error is not None and 0 <= error <= 1
