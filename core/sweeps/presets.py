"""Named sweeps: the paper's section 4.2 and the Keras reproduction's table (data in
core/reference/presets.json), and the published results their reports compare against
(core/reference/results.json)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    references: tuple[str, ...]  # ids of sources in results.json
    base: dict[str, Any]
    configurations: tuple[dict[str, Any], ...]

    def narrowed(self, grid: dict[str, list[Any]]) -> Narrowed:
        """The preset narrowed by the grid (issue 18): a grid field that the configurations set
        (`architecture`, `depth`) selects the configurations whose value it lists, instead of
        crossing each of them with every value; the other grid fields cross every configuration
        kept. A value that no configuration has, or a selection that keeps none, is a problem."""
        own = {name for c in self.configurations for name in c}
        problems: list[tuple[str, str]] = []
        kept = list(self.configurations)
        for name in [n for n in grid if n in own]:
            offered = [c[name] for c in self.configurations if name in c]
            unknown = [v for v in grid[name] if v not in offered]
            if unknown:
                values = ", ".join(str(v) for v in dict.fromkeys(offered))
                problems.append(
                    (name, f"{unknown} not in preset {self.name!r}, which has {values}")
                )
            kept = [c for c in kept if c.get(name) in grid[name]]
        if not kept and not problems:
            problems.append((next(n for n in grid if n in own), "selects no configuration"))
        return Narrowed(
            configurations=tuple(kept),
            grid={name: values for name, values in grid.items() if name not in own},
            problems=tuple(problems),
        )


@dataclass(frozen=True)
class Narrowed:
    configurations: tuple[dict[str, Any], ...]  # those the grid selects, in the preset's order
    grid: dict[str, list[Any]]  # the rest of the grid, crossed with each configuration
    problems: tuple[tuple[str, str], ...]  # (grid field, reason)


@dataclass(frozen=True)
class Reference:
    source: str  # id
    title: str
    url: str
    selection: str  # "final" (last epoch) or "best" (selected on the test set)
    approximate: bool
    dataset: str
    architecture: str
    depth: int
    error: float  # test error, %
    note: str | None = None


@functools.cache
def presets() -> dict[str, Preset]:
    data = json.loads((REFERENCE / "presets.json").read_text())
    return {
        p["name"]: Preset(
            name=p["name"],
            description=p["description"],
            references=tuple(p["references"]),
            base=p["base"],
            configurations=tuple(p["configurations"]),
        )
        for p in data["presets"]
    }


@functools.cache
def references() -> tuple[Reference, ...]:
    data = json.loads((REFERENCE / "results.json").read_text())
    rows = []
    for source in data["sources"]:
        for row in source["rows"]:
            rows.append(
                Reference(
                    source=source["id"],
                    title=source["title"],
                    url=source["url"],
                    selection=source["selection"],
                    approximate=source["approximate"],
                    dataset=source["dataset"],
                    architecture=row["architecture"],
                    depth=row["depth"],
                    error=row["error"],
                    note=row.get("note"),
                )
            )
    return tuple(rows)


def reference_for(
    sources: tuple[str, ...], *, architecture: str, depth: int, dataset: str
) -> Reference | None:
    """The first of `sources` (in order) that reports this network, or None."""
    for source in sources:
        for ref in references():
            if (ref.source, ref.architecture, ref.depth, ref.dataset) == (
                source,
                architecture,
                depth,
                dataset,
            ):
                return ref
    return None
