"""What deploy/k8s's rendered objects promise: GPUs on the training workers only, probes on the
API, non-root read-only containers with bounds, a grace period that covers the hand-back, the
same commands as docker-compose.yml, a run-time limit under Redis' visibility timeout."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from core.messaging.broker import CELERY_WORKER_ARGS, WEBHOOK_WORKER_ARGS, celery_config
from core.settings import Settings
from tests.deploy.k8s_render import (
    OVERLAYS,
    SECRETS,
    config,
    containers,
    one,
    render,
    scaler_trigger,
    workloads,
)
from worker import run_limit

GPU = "nvidia.com/gpu"
# After the training process's grace (SHUTDOWN_GRACE_S) the worker still writes the hand-back
# and exits; Docker's stop_grace_period keeps 30 s for that (docker-compose.yml), we ask 15.
EXIT_MARGIN_S = 15


def _settings(objects: list[dict[str, Any]]) -> Settings:
    """The Settings a service container of this overlay reads."""
    env = {
        **config(objects),
        "DATABASE_URL": "postgresql://crs_app:x@db/crs",
        "BROKER_URL": SECRETS["BROKER_URL"],
    }
    return Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg,arg-type]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gpu_requested_by_training_workers_only(overlay: str) -> None:
    objects = render(overlay)
    for workload in workloads(objects):
        for container in containers(workload):
            resources = container["resources"]
            wants = {**resources.get("requests", {}), **resources.get("limits", {})}
            name = workload["metadata"]["name"]
            if name == "crs-training-worker":
                assert resources["limits"][GPU] == resources["requests"][GPU] == 1
            else:
                assert GPU not in wants, f"{name} asks for a GPU"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_non_root_read_only_and_bounded(overlay: str) -> None:
    for workload in workloads(render(overlay)):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers(workload):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)


def test_api_probes_and_disruption_budget() -> None:
    objects = render("external")
    api = one(objects, "Deployment", "crs-api")
    (container,) = containers(api)
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    # Not /healthz: a database outage must not restart every API process.
    assert container["livenessProbe"]["httpGet"]["path"] == "/openapi.json"
    budget = one(objects, "PodDisruptionBudget", "crs-api")
    assert budget["spec"]["minAvailable"] >= 1
    assert api["spec"]["replicas"] > budget["spec"]["minAvailable"]
    assert (
        budget["spec"]["selector"]["matchLabels"].items()
        <= api["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_period_covers_the_hand_back(overlay: str) -> None:
    objects = render(overlay)
    workers = one(objects, "StatefulSet", "crs-training-worker")
    grace = workers["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= _settings(objects).shutdown_grace_s + EXIT_MARGIN_S


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_long_job_never_delivered_twice(overlay: str) -> None:
    """The message of a job stays unacknowledged until the job ends (task_acks_late); Redis
    hands it to another worker after the visibility timeout. A job ends at the latest at its
    run-time limit plus the worker's grace (worker/run_limit.py); with JOBS_PER_GPU slots, a
    claimed job may first wait for the memory of the worker's other jobs, each as long."""
    settings = _settings(render(overlay))
    visibility = celery_config(settings)["broker_transport_options"]["visibility_timeout"]
    longest_unacked = settings.jobs_per_gpu * (settings.job_timeout_s + run_limit.GRACE_S)
    assert longest_unacked < visibility


def test_docker_compose_default_limit_would_be_delivered_twice() -> None:
    """The check above can fail: the service's default limit (7 days, for one machine) is
    longer than the visibility timeout, which is why crs-config sets JOB_TIMEOUT_S."""
    settings = Settings(_env_file=None, broker_url="redis://redis:6379/0")  # type: ignore[call-arg]
    visibility = celery_config(settings)["broker_transport_options"]["visibility_timeout"]
    assert settings.job_timeout_s + run_limit.GRACE_S > visibility


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_names_settings_that_exist(overlay: str) -> None:
    # Settings ignores unknown names: a misspelt one would silently keep its default.
    database_address = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_SSLMODE"}
    names = set(config(render(overlay))) - database_address
    assert names <= {field.upper() for field in Settings.model_fields}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_commands_as_compose(overlay: str) -> None:
    objects = render(overlay)
    for name, args in (
        ("crs-training-worker", CELERY_WORKER_ARGS),
        ("crs-webhook-worker", WEBHOOK_WORKER_ARGS),
    ):
        kind = "StatefulSet" if name == "crs-training-worker" else "Deployment"
        (container,) = containers(one(objects, kind, name))
        command = container["command"]
        assert command[0] == "celery"
        assert tuple(a for a in command[1:] if not a.startswith("--loglevel")) == args


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaler_matches_config(overlay: str) -> None:
    objects = render(overlay)
    settings = _settings(objects)
    trigger = scaler_trigger(objects)
    assert int(trigger["targetQueryValue"]) == settings.jobs_per_gpu
    caps = re.findall(r"status = 'running'\) < (\d+)", trigger["query"])
    assert caps == [str(settings.max_running_per_owner)]
    cfg = config(objects)
    # KEDA's operator resolves the name in its own namespace: a service's short name is not
    # enough there.
    scaled = one(objects, "ScaledObject", "crs-training-worker")
    host = cfg["DB_HOST"]
    if "." not in host:
        host = f"{host}.{scaled['metadata']['namespace']}.svc"
    assert (trigger["host"], trigger["port"], trigger["dbName"], trigger["sslmode"]) == (
        host,
        cfg["DB_PORT"],
        cfg["DB_NAME"],
        cfg["DB_SSLMODE"],
    )
    assert trigger["userName"] == "crs_app"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_as_owner_services_as_app(overlay: str) -> None:
    objects = render(overlay)
    (migrate,) = containers(one(objects, "Job", "crs-migrate"))
    assert shlex.join(migrate["command"]) == "python -m core.store.migrate"
    env = {e["name"]: e for e in migrate["env"]}
    assert env["MIGRATION_DATABASE_URL"]["value"].startswith("postgresql://crs_owner:")
    assert "DATABASE_URL" not in env
    for workload in workloads(objects):
        for container in containers(workload):
            env = {e["name"]: e for e in container.get("env", [])}
            if "DATABASE_URL" in env:
                assert env["DATABASE_URL"]["value"].startswith("postgresql://crs_app:")
                assert "DB_OWNER_PASSWORD" not in env


def test_scale_to_zero_overlay() -> None:
    scaled = one(render("scale-to-zero"), "ScaledObject", "crs-training-worker")
    assert scaled["spec"]["minReplicaCount"] == 0
    assert (
        one(render("external"), "ScaledObject", "crs-training-worker")["spec"]["minReplicaCount"]
        >= 1
    )


def test_training_workers_keep_names_and_state() -> None:
    """Take-back on restart (worker/recovery.py) needs the same Celery node name (the pod's
    name) and the same lock files (WORKER_STATE_DIR) on a volume of the pod's own."""
    objects = render("external")
    workers = one(objects, "StatefulSet", "crs-training-worker")
    (container,) = containers(workers)
    cfg = config(objects)
    claims = {t["metadata"]["name"] for t in workers["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    for setting in ("WORKER_STATE_DIR", "DATA_DIR"):
        owner = [name for path, name in mounts.items() if cfg[setting].startswith(path + "/")]
        assert owner and owner[0] in claims, setting
    assert "-n" not in container["command"] and "--hostname" not in container["command"]


def test_migrations_apply_alone() -> None:
    """docs/DEPLOYING.md applies `-l 'app.kubernetes.io/component in (config,migrations)'`
    first: that selection holds the Job and everything its pod reads."""
    objects = render("external")
    chosen = {
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in ("config", "migrations")
    }
    job = one(objects, "Job", "crs-migrate")
    (container,) = containers(job)
    reads = {("ConfigMap", ref["configMapRef"]["name"]) for ref in container["envFrom"]}
    reads |= {
        ("Secret", e["valueFrom"]["secretKeyRef"]["name"])
        for e in container["env"]
        if "valueFrom" in e
    }
    assert {("Job", "crs-migrate"), *reads} <= chosen
    assert ("Deployment", "crs-api") not in chosen
