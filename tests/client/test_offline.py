"""`crs` with no service to talk to: one line on stderr and a documented exit status."""

from __future__ import annotations

from pathlib import Path

from testkit.processes import free_port
from tests.client.conftest import crs


def test_unreachable_server_is_a_one_line_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = crs("list", CRS_URL=url, CRS_API_KEY="anything")
    assert done.returncode == 3
    assert done.stderr == (
        f"crs: error: cannot reach the service at {url}: connection refused "
        "(set --url or CRS_URL)\n"
    )


def test_missing_key_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = crs("list", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("crs: error: no API key: pass --key, set CRS_API_KEY")


def test_unknown_option_of_a_command_is_a_usage_error() -> None:
    done = crs("list", "--colour", "blue", CRS_API_KEY="anything")
    assert done.returncode == 2
    assert "unrecognized arguments: --colour blue" in done.stderr
