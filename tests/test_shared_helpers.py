"""The benchmarks share the tests' helpers through `testkit/`, never by importing `tests/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _imported(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_benchmark_imports_nothing_from_tests(path: Path) -> None:
    from_tests = sorted(m for m in _imported(path) if m == "tests" or m.startswith("tests."))
    assert from_tests == [], f"{path.name}: import these from testkit instead"
