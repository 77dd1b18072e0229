"""docker-compose.yml and the Dockerfile against the code (Docker itself does not run here):
the services, their commands, the modules those name, the settings and the volumes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from core.broker import CELERY_WORKER_ARGS
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = ["celery", *CELERY_WORKER_ARGS]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def _expand(value: str) -> str:
    """Compose's ${NAME:-default}, with the defaults."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_compose_has_database_broker_api_and_worker(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "api", "worker"}


def test_compose_api_migrates_then_serves_the_app(compose: dict[str, Any]) -> None:
    command = _command(compose["services"]["api"])
    migrate = command.index("python -m core.store.migrate")
    serve = command.index("uvicorn api.app:app --host 0.0.0.0 --port 8000")
    assert migrate < serve
    assert "&&" in command[migrate:serve]  # no server on a half-migrated database
    assert "8000:8000" in compose["services"]["api"]["ports"]


def test_compose_worker_runs_one_solo_worker_on_the_training_queue(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    assert shlex.split(_command(worker))[: len(WORKER_COMMAND)] == WORKER_COMMAND
    # The workers claim jobs only once the API (hence the migrations) is up.
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"


def test_compose_worker_reserves_one_gpu(compose: dict[str, Any]) -> None:
    [device] = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["count"] == 1
    assert device["capabilities"] == ["gpu"]


def test_compose_worker_gets_time_to_hand_its_job_back(compose: dict[str, Any]) -> None:
    grace = compose["services"]["worker"]["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) > Settings.model_fields["shutdown_grace_s"].default


def test_compose_environment_names_settings_fields(compose: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("api", "worker"):
        env = _env(compose["services"][name])
        assert {"DATABASE_URL", "BROKER_URL", "DATA_DIR"} <= set(env)
        assert set(env) <= fields, f"{name}: {set(env) - fields} are no settings"


def test_compose_urls_point_at_the_database_and_broker_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = _env(services["postgres"])
    for name in ("api", "worker"):
        env = {k: _expand(v) for k, v in _env(services[name]).items()}
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgresql"
        assert database.hostname == "postgres"
        assert database.username == _expand(postgres["POSTGRES_USER"])
        assert database.password == _expand(postgres["POSTGRES_PASSWORD"])
        assert database.path == "/" + _expand(postgres["POSTGRES_DB"])
        broker = urlsplit(env["BROKER_URL"])
        assert (broker.scheme, broker.hostname) == ("redis", "redis")
        # Parsed as the service parses it.
        settings = Settings(_env_file=None, database_url=env["DATABASE_URL"])  # type: ignore[call-arg]
        assert settings.database_url.startswith("postgresql+psycopg://")


def test_compose_keeps_data_in_named_volumes(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], set(compose["volumes"])

    def mounts(service: str) -> dict[str, str]:
        return dict(reversed(v.split(":")[:2]) for v in services[service]["volumes"])

    assert mounts("postgres")["/var/lib/postgresql/data"] in volumes
    assert mounts("redis")["/data"] in volumes
    data_dir = _env(services["worker"])["DATA_DIR"]
    assert mounts("worker")[data_dir] in volumes


def test_compose_redis_keeps_an_append_only_file(compose: dict[str, Any]) -> None:
    command = shlex.split(_command(compose["services"]["redis"]))
    assert command[command.index("--appendonly") + 1] == "yes"


def test_compose_servers_report_health(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "api"):
        assert compose["services"][name]["healthcheck"]["test"]
    depends = compose["services"]["api"]["depends_on"]
    assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_compose_modules_import_and_worker_main_process_needs_no_torch(tmp_path: Path) -> None:
    """The modules the commands name, imported as the containers would (no torch for the
    worker's main process and the API); in an empty folder, so nothing lands in var/."""
    code = (
        "import importlib, sys\n"
        "app = importlib.import_module('api.app').app\n"
        "celery = importlib.import_module('worker.app').app\n"
        "assert callable(importlib.import_module('core.store.migrate').main)\n"
        "celery.loader.import_default_modules()  # what the worker does at start\n"
        "assert 'worker.train_job' in celery.tasks, sorted(celery.tasks)\n"
        "sys.exit('torch imported' if 'torch' in sys.modules else 0)\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        "BROKER_URL": "memory://",
        "DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "var").exists()


def test_dockerfile_builds_on_cuda_pytorch_and_runs_as_non_root(dockerfile: str) -> None:
    [base] = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert base.startswith("pytorch/pytorch:") and "cuda" in base and "runtime" in base
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "pip install" in dockerfile
    # The image's CUDA build of torch stays: the install is constrained to it.
    assert "-c /tmp/torch-constraints.txt" in dockerfile
    copied = set(re.findall(r"^COPY\s+(\S+)", dockerfile, flags=re.MULTILINE))
    assert {"core", "api", "worker"} <= copied


def test_dockerfile_data_dir_matches_compose(dockerfile: str, compose: dict[str, Any]) -> None:
    found = re.search(r"DATA_DIR=(\S+)", dockerfile)
    assert found is not None
    assert found[1] == _env(compose["services"]["worker"])["DATA_DIR"]


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()
    }
    assert {".venv", "var", ".env", ".git"} <= ignored
    assert "README.md" not in ignored  # pyproject.toml names it as the readme
