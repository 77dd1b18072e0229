"""Figure 6 of a sweep (issue 18): whole epochs on the x axis, one y-range for every panel, a
caption saying what was run, and a sentence where an architecture has no finished run."""

from __future__ import annotations

from core.sweeps.figure import NO_RUN, build_figure, caption, draw_figure
from core.sweeps.sweep_report import ChildRun, build_report

SOURCES = ("he2016",)


def run(architecture: str, depth: int, seed: int, test_pct: list[float], status: str) -> ChildRun:
    """test_pct in %; a ChildRun holds fractions, as the JSON report does."""
    spec = {
        "architecture": architecture,
        "depth": depth,
        "seed": seed,
        "dataset": "cifar10",
        "epochs": 5,
    }
    point = {"architecture": architecture, "depth": depth, "seed": seed}
    test = [e / 100 for e in test_pct]
    train = [e - 0.03 for e in test]
    return ChildRun(point=point, spec=spec, status=status, train_error=train, test_error=test)


def runs(resnet_status: str = "succeeded") -> list[ChildRun]:
    return [
        run("plain", 20, 0, [60, 40, 30, 25, 22], "succeeded"),
        run("plain", 20, 1, [62, 41, 31, 26, 23], "succeeded"),
        run("resnet", 20, 0, [50, 30, 20, 12, 9], resnet_status),
        run("resnet", 20, 1, [51, 31, 21], "running" if resnet_status != "succeeded" else "queued"),
    ]


def test_panels_share_one_y_range_with_whole_epoch_ticks_and_a_caption() -> None:
    children = runs()
    figure = build_figure(build_report(children, references=SOURCES), children, name="narrow")
    plain, resnet = figure.axes
    assert plain.get_ylim() == resnet.get_ylim()
    # Drawn in %, the paper's unit, from the report's fractions.
    assert plain.get_ylim()[0] == 0 and 62 <= plain.get_ylim()[1] <= 100
    assert plain.get_ylabel() == "error (%)"
    for ax in (plain, resnet):
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert figure.get_suptitle() == (
        "narrow · cifar10 · 5 epochs · seeds 0-1 (3 of 4 runs finished)"
    )
    png = draw_figure(build_report(children, references=SOURCES), children, name="narrow")
    assert png.startswith(b"\x89PNG")


def test_a_panel_without_a_finished_run_says_so() -> None:
    children = runs(resnet_status="failed")
    figure = build_figure(build_report(children, references=SOURCES), children, name="half")
    plain, resnet = figure.axes
    assert plain.axison and plain.get_lines()
    assert not resnet.axison and [t.get_text() for t in resnet.texts] == [NO_RUN]
    assert not resnet.get_lines()


def test_caption_names_a_single_seed_and_scattered_seeds() -> None:
    one = [run("resnet", 20, 3, [50, 40], "succeeded")]
    assert caption("s", one) == "s · cifar10 · 5 epochs · seed 3 (1 of 1 runs finished)"
    scattered = [*one, run("resnet", 20, 7, [50, 40], "queued")]
    assert "seeds 3, 7" in caption("s", scattered)
    assert caption("s", []) == "s · no runs (0 of 0 runs finished)"
