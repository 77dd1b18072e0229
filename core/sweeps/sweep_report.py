"""The reproduction report: one row per configuration of a sweep, beside the published numbers.

A configuration is a grid point without its seed; its runs are the seeds. Errors are
fractions (1 - accuracy, 0 to 1) in the JSON report, as every figure of the API's JSON is; the
Markdown and CSV tables, read by people, show them in % as the paper does (issue 18). "Final" is
after the last epoch, the paper's figure; "best" is the lowest over epochs, selected on the test
set itself (optimistic, labelled as such).
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from typing import Any

from core.sweeps.presets import reference_for
from core.sweeps.selection import (
    ON_TEST_SET,
    ON_VALIDATION,
    describe,
    final_validation_errors,
    select,
)

NONE = "-"  # a cell with no value
BEST_ON_TEST = "lowest test error over epochs, selected on the test set (optimistic)"
FINAL = "test error after the last epoch"
UNIT = "fraction"  # of the test images misclassified, 0 to 1; x 100 for the paper's %
DIGITS = 6  # a fraction to 6 decimals: 1e-6 of CIFAR's 10,000 test images is 0.01 image


def percent(fraction: float) -> float:
    """A fraction as % for people, to 4 decimals (the same 0.01 image)."""
    return round(100 * fraction, DIGITS - 2)


@dataclass(frozen=True)
class ChildRun:
    """What the report needs of one child job."""

    point: dict[str, Any]  # its grid values, the seed included
    spec: dict[str, Any]  # the resolved spec
    status: str
    train_error: list[float] = field(default_factory=list)  # fraction per epoch
    test_error: list[float] = field(default_factory=list)  # fraction per epoch
    validation_error: list[float] = field(default_factory=list)  # fraction; [] without a split

    @property
    def finished(self) -> bool:
        return self.status == "succeeded" and bool(self.test_error)


@dataclass
class Spread:
    mean: float
    std: float  # sample standard deviation (n - 1); 0 for a single run
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        if not values:
            return None
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        mean, low, high = statistics.fmean(values), min(values), max(values)
        return cls(
            round(mean, DIGITS),
            round(std, DIGITS),
            round(low, DIGITS),
            round(high, DIGITS),
            len(values),
        )


def configuration_of(point: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in point.items() if k != "seed"}


def build_report(runs: list[ChildRun], *, references: tuple[str, ...]) -> dict[str, Any]:
    """Rows in the order the configurations first appear (a preset's order is the paper's)."""
    groups: dict[str, list[ChildRun]] = {}
    for run in runs:
        groups.setdefault(repr(sorted(configuration_of(run.point).items())), []).append(run)
    rows = [_row(group, references) for group in groups.values()]
    definitions = {
        "final": FINAL,
        "best_on_test_set": BEST_ON_TEST,
        "selected_on_validation": ON_VALIDATION,
        "selected_on_test_set": ON_TEST_SET,
        "unit": UNIT,
    }
    return {"definitions": definitions, "rows": rows, "selection": select(rows)}


def _row(runs: list[ChildRun], sources: tuple[str, ...]) -> dict[str, Any]:
    spec = runs[0].spec
    done = [r for r in runs if r.finished]
    final = Spread.of([r.test_error[-1] for r in done])
    best = Spread.of([min(r.test_error) for r in done])
    validation = Spread.of(final_validation_errors(done))
    ref = reference_for(
        sources, architecture=spec["architecture"], depth=spec["depth"], dataset=spec["dataset"]
    )
    reference = None
    if ref is not None:
        published = round(ref.error / 100, DIGITS)  # the sources publish %
        reference = {
            "error": published,
            "source": ref.source,
            "title": ref.title,
            "url": ref.url,
            "selection": ref.selection,
            "approximate": ref.approximate,
            "note": ref.note,
            "difference": round(final.mean - published, DIGITS) if final else None,
        }
    return {
        "configuration": configuration_of(runs[0].point),
        "architecture": spec["architecture"],
        "depth": spec["depth"],
        "dataset": spec["dataset"],
        "runs_finished": len(done),
        "runs_total": len(runs),
        "runs_stopped": sum(1 for r in runs if r.status == "stopped"),  # early, issue 20
        "final_error": final.__dict__ if final else None,
        "best_on_test_set_error": best.__dict__ if best else None,
        "final_validation_error": validation.__dict__ if validation else None,
        "reference": reference,
        "curves": _mean_curves(done),
    }


def _mean_curves(runs: list[ChildRun]) -> dict[str, list[float]]:
    """Per epoch, the mean over the runs that reached it."""
    epochs = max((len(r.test_error) for r in runs), default=0)

    def mean_at(series: str, epoch: int) -> float:
        values = [getattr(r, series)[epoch] for r in runs if len(getattr(r, series)) > epoch]
        return round(statistics.fmean(values), DIGITS)

    return {
        "epoch": list(range(1, epochs + 1)),
        "train_error": [mean_at("train_error", e) for e in range(epochs)],
        "test_error": [mean_at("test_error", e) for e in range(epochs)],
    }


NETWORK_NAMES = {
    "resnet": "ResNet",
    "plain": "plain",
    "preact_resnet": "ResNet (pre-act.)",
    "vgg": "VGG",
    "vgg_keras": "VGG (Keras)",
}


def _network(row: dict[str, Any]) -> str:
    others = {k: v for k, v in row["configuration"].items() if k not in ("architecture", "depth")}
    extra = ", ".join(f"{k}={v}" for k, v in others.items())
    name = NETWORK_NAMES.get(row["architecture"], row["architecture"])
    return f"{name} ({extra})" if extra else name


def _cell(spread: dict[str, Any] | None) -> str:
    """`8.41 ± 0.17` (%); one run has no spread to show."""
    if spread is None:
        return NONE
    if spread["n"] == 1:
        return f"{100 * spread['mean']:.2f}"
    return f"{100 * spread['mean']:.2f} ± {100 * spread['std']:.2f}"


def to_markdown(report: dict[str, Any]) -> str:
    """The seeds' table shape: network, layers, the published figure, ours (final and best)."""
    lines = [
        "| network | layers | published | source | this service, final | best on test set | "
        "difference | runs |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in report["rows"]:
        ref = row["reference"]
        published = NONE
        source = NONE
        difference = NONE
        if ref is not None:
            published = f"{100 * ref['error']:.2f}" + ("*" if ref["approximate"] else "")
            source = ref["source"]
            if ref["difference"] is not None:
                difference = f"{100 * ref['difference']:+.2f}"
        lines.append(
            f"| {_network(row)} | {row['depth']} | {published} | {source} | "
            f"{_cell(row['final_error'])} | {_cell(row['best_on_test_set_error'])} | "
            f"{difference} | {row['runs_finished']}/{row['runs_total']} |"
        )
    lines.append("")
    lines.append(
        "Test error in %, mean ± sample standard deviation over seeds. Final: "
        f"{FINAL}. Best: {BEST_ON_TEST}. * approximate (read off a figure)."
    )
    selection = describe(report.get("selection") or {})
    if selection:
        lines += ["", *selection]
    return "\n".join(lines) + "\n"


# Errors in % for people, and the column names say so (the JSON report keeps fractions).
CSV_COLUMNS = (
    "architecture",
    "depth",
    "dataset",
    "configuration",
    "runs_finished",
    "runs_total",
    "final_error_mean_pct",
    "final_error_std_pct",
    "final_error_min_pct",
    "final_error_max_pct",
    "best_on_test_set_error_mean_pct",
    "reference_error_pct",
    "reference_source",
    "reference_approximate",
    "difference_pct",
    "final_validation_error_mean_pct",
)


def _pct(value: float | None) -> float | None:
    return None if value is None else percent(value)


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        final = row["final_error"] or {}
        best = row["best_on_test_set_error"] or {}
        ref = row["reference"] or {}
        validation = row.get("final_validation_error") or {}
        writer.writerow(
            [
                row["architecture"],
                row["depth"],
                row["dataset"],
                ";".join(f"{k}={v}" for k, v in row["configuration"].items()),
                row["runs_finished"],
                row["runs_total"],
                _pct(final.get("mean")),
                # Undefined for one run (n - 1 = 0): an empty cell, not a measured 0.0.
                _pct(final.get("std")) if final.get("n", 0) > 1 else None,
                _pct(final.get("min")),
                _pct(final.get("max")),
                _pct(best.get("mean")),
                _pct(ref.get("error")),
                ref.get("source"),
                ref.get("approximate"),
                _pct(ref.get("difference")),
                _pct(validation.get("mean")),
            ]
        )
    return out.getvalue()
