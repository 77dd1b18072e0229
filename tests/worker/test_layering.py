"""Only `core/store` queries the tables: the worker calls its functions (issue 7)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[2] / "worker"
# What the worker may take from SQLAlchemy and the tables: sessions, errors, the status names.
ALLOWED = {
    "sqlalchemy.orm": {"Session"},
    "sqlalchemy.exc": {"DBAPIError", "InterfaceError", "OperationalError"},
    "core.store.tables": {"JobStatus"},
}
QUERYING = {"get", "execute", "scalar", "scalars", "add", "merge", "delete", "query"}


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            module = node.module
            if (
                module == "sqlalchemy"
                or module.startswith("sqlalchemy.")
                or module == ("core.store.tables")
            ):
                extra = {alias.name for alias in node.names} - ALLOWED.get(module, set())
                if extra:
                    found.append(f"line {node.lineno}: from {module} import {sorted(extra)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERYING
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            found.append(f"line {node.lineno}: session.{node.func.attr}(...)")
    return found


@pytest.mark.parametrize("path", sorted(WORKER.glob("**/*.py")), ids=lambda path: path.name)
def test_worker_module_queries_no_table_itself(path: Path) -> None:
    assert _problems(path) == [], f"{path}: query through core/store functions instead"
