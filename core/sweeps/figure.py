"""Figure 6's layout for a sweep: one panel per architecture, error (%) against epochs, training
dashed and test solid, one colour per depth, the mean over seeds with a band for their spread.

As in the paper, the panels share one y-range, so plain and residual networks compare at a
glance; a caption says what was run (issue 18)."""

from __future__ import annotations

import io
from typing import Any

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
NO_RUN = "no run has finished"


def caption(name: str, runs: list[Any]) -> str:
    """`he2016-cifar10 · cifar10 · 164 epochs · seeds 0-2 (3 of 27 runs finished)`."""
    datasets = sorted({str(r.spec["dataset"]) for r in runs})
    epochs = sorted({int(r.spec["epochs"]) for r in runs})
    seeds = sorted({int(r.spec["seed"]) for r in runs})
    parts = [name, ", ".join(datasets) or "no runs"]
    if epochs:
        parts.append(f"{_span(epochs)} epochs")
    if seeds:
        parts.append(f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {_span(seeds)}")
    done = sum(1 for r in runs if r.finished)
    return " · ".join(parts) + f" ({done} of {len(runs)} runs finished)"


def _span(values: list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values)


def draw_figure(
    report: dict[str, Any], runs: list[Any], *, fmt: str = "png", name: str = "sweep"
) -> bytes:
    """The figure as `fmt` (png or svg) bytes."""
    buffer = io.BytesIO()
    build_figure(report, runs, name=name).savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()


def build_figure(report: dict[str, Any], runs: list[Any], *, name: str = "sweep") -> Any:
    """report: core.sweeps.sweep_report.build_report's; runs: its ChildRun list (for the bands
    and the caption); name: the sweep's, for the caption. A matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in a server thread
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    families = list(dict.fromkeys(row["architecture"] for row in report["rows"])) or ["resnet"]
    figure = Figure(figsize=(5.5 * len(families), 4.5), layout="constrained")
    axes = figure.subplots(1, len(families), squeeze=False, sharey=True)[0]
    drawn = [_panel(ax, family, report, runs) for ax, family in zip(axes, families, strict=True)]
    for ax, has_data in zip(axes, drawn, strict=True):
        if has_data:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        else:  # a sentence, not an empty frame with axes -0.04...0.04
            ax.set_axis_off()
            ax.text(0.5, 0.5, NO_RUN, ha="center", va="center", transform=ax.transAxes)
    first = next((ax for ax, has_data in zip(axes, drawn, strict=True) if has_data), None)
    if first is not None:
        first.set_ylabel("error (%)")
        first.set_ylim(bottom=0)  # shared: every panel on this one range
        for ax in axes:  # sharey hides the inner panels' numbers; each panel reads alone
            ax.yaxis.set_tick_params(labelleft=True)
    figure.suptitle(caption(name, runs), fontsize="medium")
    return figure


def _pct(fractions: list[float]) -> list[float]:
    return [100 * f for f in fractions]


def _panel(ax: Any, family: str, report: dict[str, Any], runs: list[Any]) -> bool:
    """One architecture's curves; False when none of its runs has finished."""
    from core.sweeps.sweep_report import NETWORK_NAMES, configuration_of

    ax.set_title(NETWORK_NAMES.get(family, family))
    rows = [
        row for row in report["rows"] if row["architecture"] == family and row["curves"]["epoch"]
    ]
    for index, row in enumerate(rows):
        colour = PALETTE[index % len(PALETTE)]
        mine = [r for r in runs if r.finished and configuration_of(r.point) == row["configuration"]]
        curves = row["curves"]
        label = f"{NETWORK_NAMES.get(family, family)}-{row['depth']}"
        if len(rows) > len({r["depth"] for r in rows}):  # same depth twice: say what differs
            label += " " + ",".join(
                f"{k}={v}" for k, v in row["configuration"].items() if k != "depth"
            )
        # The report's errors are fractions; the figure speaks the paper's %.
        ax.plot(curves["epoch"], _pct(curves["train_error"]), "--", color=colour, linewidth=1)
        test = _pct(curves["test_error"])
        ax.plot(curves["epoch"], test, "-", color=colour, linewidth=2, label=label)
        if len(mine) > 1:
            epochs = len(curves["epoch"])
            low = _pct(
                [min(r.test_error[e] for r in mine if len(r.test_error) > e) for e in range(epochs)]
            )
            high = _pct(
                [max(r.test_error[e] for r in mine if len(r.test_error) > e) for e in range(epochs)]
            )
            ax.fill_between(curves["epoch"], low, high, color=colour, alpha=0.15, linewidth=0)
    if rows:
        ax.legend(fontsize="small", title="test (solid), train (dashed)", title_fontsize="small")
    return bool(rows)
