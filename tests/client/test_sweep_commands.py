"""`crs sweep ...` and `crs estimate` against the real API and worker (issue 18)."""

from __future__ import annotations

import json

import pytest

from tests.client.conftest import Service, crs

pytestmark = pytest.mark.slow


def _env(service: Service) -> dict[str, str]:
    return {"CRS_URL": service.url, "CRS_API_KEY": service.key}


def test_sweep_submit_list_show_report_cancel(service: Service) -> None:
    env = _env(service)
    done = crs(
        "sweep", "submit", "--name", "cli-grid", "--grid", "depth=8,14", "--architecture",
        "resnet", "--epochs", "30", "--batch-size", "10", "--json", **env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sweep = json.loads(done.stdout)
    sweep_id = sweep["id"]
    assert sweep["progress"]["total"] == 2 and sweep["varying"] == ["depth"]

    listed = crs("sweep", "list", **env)
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:3] == ["id", "name", "ended"]
    assert any(line.startswith(sweep_id) and "cli-grid" in line for line in lines)

    shown = crs("sweep", "show", sweep_id[:8], **env)  # a unique prefix names it
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(sweep_id)
    assert "depth=8" in shown.stdout and "depth=14" in shown.stdout
    assert "test err" in shown.stdout
    missing = crs("sweep", "show", "ffffffffff", **env)
    assert missing.returncode == 2 and "none of your sweeps" in missing.stderr

    report = crs("sweep", "report", sweep_id, "--format", "md", **env)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("| network | layers |")

    cancelled = crs("sweep", "cancel", sweep_id, **env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert sweep_id in cancelled.stdout


def test_sweep_submit_refused_names_the_field(service: Service) -> None:
    done = crs(
        "sweep", "submit", "--grid", "depth=9", "--architecture", "resnet", "--epochs", "2",
        **_env(service),
    )  # fmt: skip
    assert done.returncode == 2
    assert "depth" in done.stderr and done.stderr.count("\n") == 1


def test_estimate_prints_parameters_and_a_duration(service: Service) -> None:
    done = crs("estimate", "--architecture", "resnet", "--depth", "20", "--epochs", "2",
               **_env(service))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "parameters  269,722" in done.stdout  # "0.27M" in He et al. 2016, table 6 (option A)
    refused = crs("estimate", "--epochs", "0", "--batch-size", "4", **_env(service))
    assert refused.returncode == 2
    assert "epochs:" in refused.stderr and "batch_size:" in refused.stderr


def test_submit_help_lists_every_job_field_from_the_schema(service: Service) -> None:
    import httpx

    fields = httpx.get(f"{service.url}/openapi.json").json()["components"]["schemas"]
    names = list(fields["JobRequest"]["properties"])
    done = crs("submit", "--help", CRS_URL=service.url)  # no key needed for the help
    assert done.returncode == 0, done.stderr
    for name in names:
        assert f"  --{name.replace('_', '-')}" in done.stdout, name
    assert "--lr-schedule (default multistep; choices " in done.stdout
    assert "--depth (required; 8..1202)" in done.stdout
    offline = crs("submit", "--help", CRS_URL="http://127.0.0.1:9")
    assert offline.returncode == 0 and "did not give its schema" in offline.stdout
