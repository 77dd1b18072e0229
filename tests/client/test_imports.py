"""The client is a pure HTTP client: no torch, and nothing of the service's own packages."""

from __future__ import annotations

import subprocess
import sys

from testkit.processes import REPO


def test_client_imports_without_torch_or_service_packages() -> None:
    # `client.__main__` would run the CLI on import; import the rest and list the modules.
    code = (
        "import sys\n"
        "import client, client.cli, client.watch, client.commands, client.stream\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'torchvision', 'numpy', 'api', 'core', 'worker', 'sqlalchemy', 'celery'))\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_crs_console_script_is_declared_and_callable() -> None:
    import tomllib

    from client.cli import run

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["crs"] == "client.cli:run"
    assert callable(run)
