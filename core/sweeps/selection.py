"""Choosing a sweep's best configuration (issue 20): on the validation split, honestly, and on
the test set, optimistically, side by side.

A configuration's score is the mean over its finished seeds of the error after the last epoch.
Selecting on validation and reporting the chosen configuration's test error is the paper's
protocol (section 4.2: the schedule was set "on a 45k/5k train/val split"); selecting on the test
error itself reports the lowest of many noisy test figures, so it is labelled optimistic.
"""

from __future__ import annotations

from typing import Any

ON_VALIDATION = (
    "the configuration with the lowest mean validation error after the last epoch; its test "
    "error is an unbiased estimate"
)
ON_TEST_SET = (
    "the configuration with the lowest mean test error after the last epoch, selected on the "
    "test set itself (optimistic)"
)


def final_validation_errors(runs: list[Any]) -> list[float]:
    """Each finished run's validation error (a fraction) after its last epoch, where it had a
    split."""
    return [r.validation_error[-1] for r in runs if r.finished and r.validation_error]


def describe(selection: dict[str, Any]) -> list[str]:
    """The selection as sentences under the report's table (Markdown), errors in %."""
    lines = []
    for key, title in (
        ("on_validation", "Selected on validation"),
        ("on_test_set", "Selected on the test set (optimistic)"),
    ):
        chosen = selection.get(key)
        if chosen is None:
            continue
        configuration = ", ".join(f"{k}={v}" for k, v in chosen["configuration"].items())
        test = chosen["test_error"]
        named = configuration or "the only configuration"
        line = f"{title}: {named}, test error {100 * test['mean']:.2f}"
        if test["n"] > 1:
            line += f" ± {100 * test['std']:.2f}"
        line += " %"
        if chosen["validation_error"] is not None:
            line += f" (validation error {100 * chosen['validation_error']['mean']:.2f} %)"
        lines.append(line + f", of {chosen['candidates']} configurations.")
    return lines


def select(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """{"on_validation": ..., "on_test_set": ...}; each None when no row can be scored."""
    return {
        "on_validation": _best(rows, "final_validation_error", ON_VALIDATION),
        "on_test_set": _best(rows, "final_error", ON_TEST_SET),
    }


def _best(rows: list[dict[str, Any]], score: str, rule: str) -> dict[str, Any] | None:
    scored = [row for row in rows if row[score] is not None and row["final_error"] is not None]
    if not scored:
        return None
    best = min(scored, key=lambda row: row[score]["mean"])  # the first of equals: request order
    return {
        "rule": rule,
        "configuration": best["configuration"],
        "validation_error": best["final_validation_error"],
        "test_error": best["final_error"],
        "candidates": len(scored),
    }
