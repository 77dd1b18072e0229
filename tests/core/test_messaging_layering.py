"""Celery, kombu and Redis live in core/messaging only; the trainer and the store use none of
it, and the settings import nothing from the store (issue 16)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
MESSAGING_LIBRARIES = {"celery", "kombu", "redis"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (type-checking imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            found.add(node.module)
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_messaging_libraries_are_imported_only_by_core_messaging(path: Path) -> None:
    if path.relative_to(CORE).parts[0] == "messaging":
        return
    used = {m for m in _imports(path) if _top(m) in MESSAGING_LIBRARIES}
    assert not used, f"{path}: {sorted(used)} belong in core/messaging"


@pytest.mark.parametrize("part", ["trainer", "store"])
def test_trainer_and_store_import_no_messaging(part: str) -> None:
    for path in sorted((CORE / part).rglob("*.py")):
        used = {m for m in _imports(path) if m.startswith("core.messaging")}
        assert not used, f"{path}: {sorted(used)}"


def test_settings_import_nothing_from_the_store() -> None:
    used = {m for m in _imports(CORE / "settings.py") if m.startswith("core.store")}
    assert not used
