"""Figure 6's layout for a sweep: one panel per architecture, error (%) against epochs, training
dashed and test solid, one colour per depth, the mean over seeds with a band for their spread."""

from __future__ import annotations

import io
from typing import Any

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def draw_figure(report: dict[str, Any], runs: list[Any], *, fmt: str = "png") -> bytes:
    """report: core.sweeps.sweep_report.build_report's; runs: its ChildRun list (for the bands)."""
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in a server thread
    from matplotlib.figure import Figure

    from core.sweeps.sweep_report import NETWORK_NAMES, configuration_of

    families = list(dict.fromkeys(row["architecture"] for row in report["rows"])) or ["resnet"]
    figure = Figure(figsize=(5.5 * len(families), 4.2), layout="constrained")
    axes = figure.subplots(1, len(families), squeeze=False)[0]
    for ax, family in zip(axes, families, strict=True):
        rows = [row for row in report["rows"] if row["architecture"] == family]
        for index, row in enumerate(rows):
            colour = PALETTE[index % len(PALETTE)]
            mine = [
                r for r in runs if r.finished and configuration_of(r.point) == row["configuration"]
            ]
            curves = row["curves"]
            label = f"{NETWORK_NAMES.get(family, family)}-{row['depth']}"
            if len(rows) > len({r["depth"] for r in rows}):  # same depth twice: say what differs
                label += " " + ",".join(
                    f"{k}={v}" for k, v in row["configuration"].items() if k != "depth"
                )
            ax.plot(curves["epoch"], curves["train_error"], "--", color=colour, linewidth=1)
            ax.plot(
                curves["epoch"], curves["test_error"], "-", color=colour, linewidth=2, label=label
            )
            if len(mine) > 1:
                epochs = len(curves["epoch"])
                low = [
                    min(r.test_error[e] for r in mine if len(r.test_error) > e)
                    for e in range(epochs)
                ]
                high = [
                    max(r.test_error[e] for r in mine if len(r.test_error) > e)
                    for e in range(epochs)
                ]
                ax.fill_between(curves["epoch"], low, high, color=colour, alpha=0.15, linewidth=0)
        ax.set_title(NETWORK_NAMES.get(family, family))
        ax.set_xlabel("epoch")
        ax.set_ylabel("error (%)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if rows:
            ax.legend(
                fontsize="small", title="test (solid), train (dashed)", title_fontsize="small"
            )
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()
