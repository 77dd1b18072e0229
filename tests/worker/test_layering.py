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


# The layer below both of the worker's processes: what the training process may use of the rest.
SHARED_FLOOR = {
    "worker.held_job",
    "worker.store_calls",
    "worker.after_commit",
    "worker.dataset_cache",  # uploaded data sets' local copies (issue 19)
}


def _worker_imports() -> dict[str, set[str]]:
    """Each worker module's imports of other worker modules, function-level and TYPE_CHECKING
    ones included."""
    root = WORKER.parent
    modules = {}
    for path in WORKER.glob("**/*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {module for module in found if module in modules and module != name}
    return graph


def test_training_process_imports_of_the_worker_only_the_shared_floor() -> None:
    graph = _worker_imports()
    outside = {
        f"{name} -> {module}"
        for name, imported in graph.items()
        if name.startswith("worker.training_process")
        for module in imported
        if not module.startswith("worker.training_process") and module not in SHARED_FLOOR
    }
    below = {f"{name} -> {module}" for name in SHARED_FLOOR for module in graph[name]}
    below -= {f"{name} -> {module}" for name in SHARED_FLOOR for module in SHARED_FLOOR}
    assert outside | below == set()


def test_worker_modules_import_each_other_without_a_cycle() -> None:
    graph = _worker_imports()
    done: set[str] = set()

    def walk(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AssertionError(" -> ".join((*path[path.index(name) :], name)))
        if name in done:
            return
        for module in sorted(graph[name]):
            walk(module, (*path, name))
        done.add(name)

    for name in sorted(graph):
        walk(name, ())
