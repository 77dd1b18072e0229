"""deploy/k8s renders, and what it renders is valid: Kubernetes' own schemas
(kubernetes-validate), KEDA's CRD schemas (the npm package @kubernetes-models/keda) and
checkov's checks, each finding fixed or skipped with a reason."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from tests.deploy.k8s_render import (
    K8S,
    OVERLAYS,
    ROOT,
    TOOLS,
    need,
    render,
    rendered_text,
    tool,
)

# The oldest Kubernetes these manifests are written for: the StatefulSet's
# persistentVolumeClaimRetentionPolicy is stable from 1.32 on.
KUBERNETES_VERSION = "1.32"
KEDA_MODELS = TOOLS / "node_modules" / "@kubernetes-models" / "keda"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_objects_valid_for_kubernetes(overlay: str) -> None:
    kinds = set()
    for document in render(overlay):
        kinds.add(document["kind"])
        if document["apiVersion"].startswith("keda.sh/"):
            continue  # a custom resource: KEDA's schema, below
        # strict: a misspelt field is an error, not a field the API server silently drops
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    assert {"Deployment", "StatefulSet", "Job", "PodDisruptionBudget", "ScaledObject"} <= kinds


def test_misspelt_field_is_refused_by_the_validation() -> None:
    deployment = next(o for o in render("external") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 90
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _keda_check(lines: list[str]) -> subprocess.CompletedProcess[str]:
    node = need(shutil.which("node"), "node")
    need(str(KEDA_MODELS) if KEDA_MODELS.is_dir() else None, "@kubernetes-models/keda")
    return subprocess.run(
        [node, str(Path(__file__).with_name("keda_validate.mjs")), str(TOOLS)],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_objects_valid_for_keda_crds(overlay: str) -> None:
    keda = [json.dumps(o) for o in render(overlay) if o["apiVersion"].startswith("keda.sh/")]
    assert len(keda) == 2  # the ScaledObject and its TriggerAuthentication
    result = _keda_check(keda)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 2


def test_keda_check_refuses_a_wrong_scaled_object() -> None:
    scaled = next(o for o in render("external") if o["kind"] == "ScaledObject")
    scaled["spec"]["minReplicaCount"] = "one"
    result = _keda_check([json.dumps(scaled)])
    assert result.returncode == 1
    assert "minReplicaCount" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("overlay", ["external", "bundled"])  # scale-to-zero: a replica count
def test_checkov_finds_nothing_unexplained(overlay: str, tmp_path: Path) -> None:
    checkov = need(tool("checkov"), "checkov")
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(rendered_text(overlay))
    result = subprocess.run(
        [checkov, "--framework", "kubernetes", "-f", str(manifest), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(result.stdout)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 100
    # Every skip says why (checkov.io/skipN annotations: the comments of the sources do not
    # survive rendering).
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 30, f"{check['check_id']} on {check['resource']}: {reason!r}"


def test_bundled_postgres_makes_the_roles_as_compose_does() -> None:
    copy = K8S / "overlays" / "bundled" / "init-roles.sh"
    assert copy.read_bytes() == (ROOT / "deploy" / "postgres" / "init-roles.sh").read_bytes()


def test_secrets_never_committed() -> None:
    ignored = (K8S / ".gitignore").read_text()
    assert re.search(r"^secrets\.env$", ignored, re.MULTILINE)
