"""What a person reads: test error in % (the paper's unit), durations as durations (issue 18)."""

from __future__ import annotations

from client.sweep_commands import child_line
from client.watch import epoch_line, error_percent, human_duration


def test_error_percent_is_one_minus_accuracy_in_percent() -> None:
    assert error_percent(0.998) == "0.20%"
    assert error_percent(0.9302) == "6.98%"
    assert error_percent(None) == "-"


def test_epoch_line_shows_errors_not_accuracies() -> None:
    record = {"epoch": 2, "train_accuracy": 0.75, "test_accuracy": 0.5, "seconds": 3}
    line = epoch_line(record, 10)
    assert line.startswith("epoch  2/10") and "err 25.00%" in line and "err 50.00%" in line


def test_human_duration_reads_as_a_duration() -> None:
    assert human_duration(421788) == "4 d 21 h"
    assert human_duration(4320) == "1 h 12 min"
    assert human_duration(3600) == "1 h"
    assert human_duration(754) == "13 min"
    assert human_duration(42.4) == "42 s"
    assert human_duration(None) == "-"


def test_sweep_child_shows_the_views_fraction_as_percent() -> None:
    child = {
        "id": "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b",
        "status": "succeeded",
        "epochs_done": 164,
        "epochs": 164,
        "final_test_error": 0.0961,  # GET /sweeps/{id} keeps fractions
        "point": {"depth": 20, "seed": 0},
    }
    line = child_line(child)
    assert "9.61%" in line and line.endswith("depth=20, seed=0")
    assert " - " in child_line({**child, "final_test_error": None, "status": "running"})
