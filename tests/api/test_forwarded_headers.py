"""The failed-key limit keys on the connecting address: X-Forwarded-For is not trusted where no
proxy is in front (`make run`, the tests, the plain image), so a new spoofed header per request no
longer dodges the limit (issue 17, item 8)."""

from __future__ import annotations

from pathlib import Path

import httpx

from core.store.migrate import upgrade
from ops.run_local import commands
from testkit.processes import Processes
from testkit.starters import start_api


def test_make_run_trusts_no_forwarded_headers() -> None:
    assert "--no-proxy-headers" in commands("127.0.0.1", 8000)["api"]


def test_spoofed_forwarded_for_does_not_dodge_the_failed_key_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    processes = Processes(tmp_path / "logs")
    try:
        _proc, base = start_api(
            processes,
            {
                "DATABASE_URL": url,
                "BROKER_URL": f"filesystem://{tmp_path}/broker",
                "AUTH_MAX_FAILURES": "20",
            },
        )
        codes = []
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(40):
                headers = {
                    "Authorization": f"Bearer wrong-key-{i}",
                    "X-Forwarded-For": f"203.0.113.{i + 1}",
                    "Forwarded": f"for=198.51.100.{i + 1}",
                }
                codes.append(client.get("/jobs", headers=headers).status_code)
        assert set(codes[:20]) == {401}, codes
        assert codes[-1] == 429, codes
    finally:
        processes.stop_all()
