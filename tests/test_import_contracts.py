"""The layering holds: import-linter's contracts in pyproject.toml ([tool.importlinter]) are kept,
and they cover every package of the service (a new top-level package is checked, not skipped)."""

from __future__ import annotations

import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the service runs on 3.11; tomli is a dependency for 3.10
    import tomli as tomllib

from testkit.processes import REPO, VENV_BIN

# Packages at the top of the repository that are not the service's code.
NOT_SERVICE = {"tests"}


def _config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_import_contracts_are_kept() -> None:
    # --no-cache: no cache folder in the repository, and never a stale graph.
    done = subprocess.run(
        [str(VENV_BIN / "lint-imports"), "--no-logo", "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"a broken import contract:\n{done.stdout}\n{done.stderr}"
    assert "0 broken" in done.stdout, done.stdout


def test_import_contracts_cover_every_package() -> None:
    packages = {
        path.parent.name
        for path in REPO.glob("*/__init__.py")
        if path.parent.name not in NOT_SERVICE and not path.parent.name.startswith(".")
    }
    assert sorted(packages) == sorted(_config()["root_packages"]), (
        "pyproject.toml [tool.importlinter] root_packages must name every top-level package"
    )


def test_every_contract_has_an_id_and_a_name() -> None:
    # `lint-imports --contract ID` runs one contract; the name is what a failure prints.
    contracts = _config()["contracts"]
    ids = [contract.get("id") for contract in contracts]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert all(contract.get("name") for contract in contracts)
