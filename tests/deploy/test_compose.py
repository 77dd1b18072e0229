"""docker-compose.yml and the Dockerfile against the code (Docker itself does not run here):
the services, their commands, the modules those name, the settings and the volumes; and the
deployment's defaults (issue 7): required secrets, least-privilege roles, Redis with a password,
the API on 127.0.0.1, a TLS proxy as a profile; several jobs per GPU, with NVIDIA MPS as a
profile. deploy/postgres/init-roles.sh itself runs against the local PostgreSQL in
test_postgres_roles.py."""

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

from core.messaging.broker import CELERY_WORKER_ARGS, WEBHOOK_WORKER_ARGS
from core.messaging.dataset_queue import DATASET_WORKER_ARGS
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = ["celery", *CELERY_WORKER_ARGS]
WEBHOOK_WORKER_COMMAND = ["celery", *WEBHOOK_WORKER_ARGS]


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


# What an operator sets (README, "Deploying"); compose refuses to start without any of them.
SECRETS = {
    "POSTGRES_PASSWORD": "superuser-secret",
    "DB_OWNER_PASSWORD": "owner-secret",
    "DB_APP_PASSWORD": "app-secret",
    "REDIS_PASSWORD": "redis-secret",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


class MissingVariable(Exception):
    pass


def _expand(value: str, env: dict[str, str] = SECRETS) -> str:
    """Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME:?error} (empty counts as
    unset in both), with `env` as the operator's environment."""

    def one(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise MissingVariable(f"required variable {name} is missing a value: {argument}")
        return argument if kind == "-" else ""

    return _VARIABLE.sub(one, value)


def test_compose_has_database_broker_api_and_worker(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "api",
        "worker",
        "webhooks",
        "datasets",
    }


def test_compose_dataset_worker_runs_the_datasets_queue(compose: dict[str, Any]) -> None:
    command = shlex.split(_command(compose["services"]["datasets"]))
    # DATASET_WORKER_ARGS as written out (issue 19).
    assert command[: len(DATASET_WORKER_ARGS) + 1] == ["celery", *DATASET_WORKER_ARGS]
    assert compose["services"]["datasets"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_compose_api_migrates_then_serves_the_app(compose: dict[str, Any]) -> None:
    command = _command(compose["services"]["api"])
    migrate = command.index("python -m core.store.migrate")
    serve = command.index("uvicorn api.app:app --host 0.0.0.0 --port 8000")
    assert migrate < serve
    assert "&&" in command[migrate:serve]  # no server on a half-migrated database
    # Port 8000 of the container, published on this machine only (issue 7).
    assert compose["services"]["api"]["ports"] == ["127.0.0.1:${API_PORT:-8000}:8000"]


def test_compose_worker_runs_the_thread_pool_worker_on_the_training_queue(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    command = shlex.split(_command(worker))
    # CELERY_WORKER_ARGS as written out: pool threads (JOBS_PER_GPU of them, set by worker.app
    # through worker_concurrency), the training queue only; no fixed --concurrency.
    assert command[: len(WORKER_COMMAND)] == WORKER_COMMAND
    assert command[command.index("-Q") + 1] == "training"
    assert not any(arg.startswith(("--concurrency", "-c")) for arg in command)
    # The workers claim jobs only once the API (hence the migrations) is up.
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"


def test_compose_webhook_worker_sends_deliveries_without_a_gpu(compose: dict[str, Any]) -> None:
    webhooks = compose["services"]["webhooks"]
    command = shlex.split(_command(webhooks))
    # WEBHOOK_WORKER_ARGS as written out: the webhooks queue only, its own threads.
    assert command[: len(WEBHOOK_WORKER_COMMAND)] == WEBHOOK_WORKER_COMMAND
    assert command[command.index("-Q") + 1] == "webhooks"
    assert "deploy" not in webhooks  # no GPU reservation
    assert webhooks["image"] == compose["services"]["worker"]["image"]
    assert webhooks["depends_on"]["api"]["condition"] == "service_healthy"
    assert webhooks["restart"] == "unless-stopped"
    grace = float(webhooks["stop_grace_period"].removesuffix("s"))
    assert grace > Settings.model_fields["webhook_timeout_s"].default


def test_compose_worker_reserves_one_gpu(compose: dict[str, Any]) -> None:
    [device] = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["count"] == 1
    assert device["capabilities"] == ["gpu"]


def test_compose_worker_gets_time_to_hand_its_job_back(compose: dict[str, Any]) -> None:
    grace = compose["services"]["worker"]["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) > Settings.model_fields["shutdown_grace_s"].default


# Environment names of the worker that are no settings: the CUDA driver of its training
# processes reads them, to find the MPS control daemon of deploy/mps.yml (docs/GPU-SHARING.md).
CUDA_MPS_ENV = ("CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY")


def test_compose_environment_names_settings_fields(compose: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert not fields & set(CUDA_MPS_ENV)
    allowed = {"api": set(), "worker": set(CUDA_MPS_ENV), "webhooks": set(), "datasets": set()}
    for name in ("api", "worker", "webhooks", "datasets"):
        env = _env(compose["services"][name])
        assert {"DATABASE_URL", "BROKER_URL", "DATA_DIR"} <= set(env)
        others = set(env) - fields
        assert others <= allowed[name], f"{name}: {others - allowed[name]} are no settings"
    assert set(CUDA_MPS_ENV) <= set(_env(compose["services"]["worker"]))


def test_compose_worker_passes_jobs_per_gpu_through_with_default_one(
    compose: dict[str, Any],
) -> None:
    value = _env(compose["services"]["worker"])["JOBS_PER_GPU"]
    assert value == "${JOBS_PER_GPU:-1}"
    # Compose's reading of it, parsed as the worker parses it.
    for operator, jobs in (({}, 1), ({"JOBS_PER_GPU": "4"}, 4)):
        expanded = _expand(value, {**SECRETS, **operator})
        settings = Settings(_env_file=None, jobs_per_gpu=expanded)  # type: ignore[call-arg]
        assert settings.jobs_per_gpu == jobs
    assert Settings.model_fields["jobs_per_gpu"].default == 1


def test_compose_urls_point_at_the_database_and_broker_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = {k: _expand(v) for k, v in _env(services["postgres"]).items()}
    for name in ("api", "worker", "webhooks"):
        env = {k: _expand(v) for k, v in _env(services[name]).items()}
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgresql"
        assert database.hostname == "postgres"
        # The service's role, made by deploy/postgres/init-roles.sh; not the superuser (issue 7).
        assert database.username == postgres["DB_APP_USER"] != postgres["POSTGRES_USER"]
        assert database.password == postgres["DB_APP_PASSWORD"]
        assert database.path == "/" + postgres["POSTGRES_DB"]
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
    # ops: `docker compose exec api python -m ops.keys` runs in the image.
    assert {"core", "api", "worker", "ops"} <= copied


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


# --- the deployment's defaults (issue 7) ---------------------------------------------------------


def _included(compose: dict[str, Any], path: str) -> dict[str, Any]:
    assert path in compose["include"]  # read by `docker compose`, profiles or not
    loaded: dict[str, Any] = yaml.safe_load((ROOT / path).read_text())
    return loaded


@pytest.fixture(scope="module")
def tls(compose: dict[str, Any]) -> dict[str, Any]:
    return _included(compose, "deploy/tls.yml")


@pytest.fixture(scope="module")
def mps(compose: dict[str, Any]) -> dict[str, Any]:
    return _included(compose, "deploy/mps.yml")


def test_compose_includes_the_profile_files(compose: dict[str, Any]) -> None:
    assert compose["include"] == ["deploy/tls.yml", "deploy/mps.yml"]
    for path in compose["include"]:
        services = yaml.safe_load((ROOT / path).read_text())["services"]
        # Only with `docker compose --profile ... up`: none starts by default.
        assert all(service["profiles"] for service in services.values()), path


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_compose_secrets_are_required_and_have_no_defaults(
    compose: dict[str, Any], tls: dict[str, Any], mps: dict[str, Any]
) -> None:
    references = [
        match.groups()
        for text in _strings(compose) + _strings(tls) + _strings(mps)
        for match in _VARIABLE.finditer(text)
    ]
    secret = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
    secrets = {name for name, _kind, _arg in references if secret.search(name)}
    assert secrets == set(SECRETS)
    for name, kind, argument in references:
        if name in secrets:
            # ${NAME:?message}: compose refuses to start and says which, never a fallback.
            assert kind == "?" and name in argument, (name, kind, argument)
    for name in SECRETS:
        without = {key: value for key, value in SECRETS.items() if key != name}
        with pytest.raises(MissingVariable, match=f"required variable {name} is missing"):
            for text in _strings(compose):
                _expand(text, without)


def test_compose_passwords_are_never_written_in_the_file(compose: dict[str, Any]) -> None:
    services = compose["services"]
    urls = [
        value
        for name in ("api", "worker")
        for key, value in _env(services[name]).items()
        if key.endswith("_URL")
    ]
    assert len(urls) == 5  # DATABASE_URL and BROKER_URL twice, MIGRATION_DATABASE_URL once
    for url in urls:
        # Everything between "://user:" and "@host" is one required variable.
        password = re.fullmatch(r"\w+://\w*:(.*)@[\w.]+:\d+/\w+", url)
        assert password is not None and _VARIABLE.fullmatch(password[1]), url
    for key, value in _env(services["postgres"]).items():
        if "PASSWORD" in key:
            assert _VARIABLE.fullmatch(value), key


def test_compose_redis_requires_a_password_and_the_broker_url_uses_it(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    command = shlex.split(_command(services["redis"]))
    required = _expand(command[command.index("--requirepass") + 1])
    assert required == SECRETS["REDIS_PASSWORD"]
    assert _expand(_env(services["redis"])["REDISCLI_AUTH"]) == required  # the health check
    for name in ("api", "worker"):
        broker = urlsplit(_expand(_env(services[name])["BROKER_URL"]))
        assert (broker.hostname, broker.password) == ("redis", required)


def test_compose_publishes_only_the_api_and_only_on_localhost(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published == {
        "postgres": [],
        "redis": [],
        "api": ["127.0.0.1:${API_PORT:-8000}:8000"],
        "worker": [],
        "webhooks": [],
        "datasets": [],
    }
    host, port, container = _expand(published["api"][0]).split(":")
    assert (host, port, container) == ("127.0.0.1", "8000", "8000")
    assert _expand(published["api"][0], {**SECRETS, "API_PORT": "9000"}).startswith(
        "127.0.0.1:9000:"
    )


def test_compose_service_role_is_not_the_owner_or_superuser(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = {k: _expand(v) for k, v in _env(services["postgres"]).items()}
    api = {k: _expand(v) for k, v in _env(services["api"]).items()}
    worker = {k: _expand(v) for k, v in _env(services["worker"]).items()}
    app, owner = postgres["DB_APP_USER"], postgres["DB_OWNER_USER"]
    assert len({app, owner, postgres["POSTGRES_USER"]}) == 3
    assert urlsplit(api["DATABASE_URL"]).username == urlsplit(worker["DATABASE_URL"]).username
    assert urlsplit(api["DATABASE_URL"]).username == app
    # Migrations as the owner: only the API's start has that URL, and uvicorn does not inherit it.
    migration = urlsplit(api["MIGRATION_DATABASE_URL"])
    assert (migration.username, migration.password) == (owner, postgres["DB_OWNER_PASSWORD"])
    assert "MIGRATION_DATABASE_URL" not in worker
    command = _command(services["api"])
    assert "exec env -u MIGRATION_DATABASE_URL uvicorn " in command
    # The script that makes the roles runs on the first start of the database.
    mounts = dict(v.split(":")[:2] for v in services["postgres"]["volumes"])
    script = mounts["./deploy/postgres/init-roles.sh"]
    assert script.startswith("/docker-entrypoint-initdb.d/") and script.endswith(".sh")
    assert (ROOT / "deploy/postgres/init-roles.sh").stat().st_mode & 0o111  # executable


def test_init_script_grants_the_service_rows_and_nothing_more() -> None:
    script = (ROOT / "deploy/postgres/init-roles.sh").read_text()
    body = script[script.index("\n", script.index("<<'SQL'")) : script.rindex("\nSQL")]
    sql = re.sub(r"--[^\n]*", "", body)
    statements = [" ".join(s.split()) for s in sql.split(";") if s.strip()]
    grants = [s for s in statements if "GRANT " in s and not s.startswith("REVOKE")]
    assert grants == [
        'GRANT CONNECT ON DATABASE :"db" TO :"app"',
        'GRANT USAGE ON SCHEMA public TO :"app"',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, '
        'UPDATE, DELETE ON TABLES TO :"app"',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON '
        'SEQUENCES TO :"app"',
    ]
    for role in ("owner", "app"):
        [create] = [s for s in statements if s.startswith(f'CREATE ROLE :"{role}"')]
        for attribute in ("SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"):
            assert f"NO{attribute}" in create.split(), (role, attribute)
    assert not any("GRANT ALL" in s or " TO PUBLIC" in s for s in statements)


def test_compose_tls_profile_puts_caddy_in_front_of_the_api(tls: dict[str, Any]) -> None:
    proxy = tls["services"]["proxy"]
    assert proxy["profiles"] == ["tls"]  # only with `docker compose --profile tls up`
    assert proxy["image"].startswith("caddy:")
    assert "${HTTPS_PORT:-443}:443" in proxy["ports"]
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    mounts = dict(v.split(":")[:2] for v in proxy["volumes"])
    assert mounts["./Caddyfile"] == "/etc/caddy/Caddyfile"
    assert set(tls["volumes"]) >= {name for name in mounts if not name.startswith(".")}
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    assert re.search(r"^\{\$SITE_ADDRESS:localhost\} \{$", caddyfile, flags=re.MULTILINE)
    # The container port of the API service, over the compose network.
    assert re.search(r"^\s*reverse_proxy api:8000\b", caddyfile, flags=re.MULTILINE)
    assert "flush_interval -1" in caddyfile  # event streams are not buffered


def test_compose_mps_profile_runs_the_daemon_on_the_workers_gpu(
    compose: dict[str, Any], mps: dict[str, Any]
) -> None:
    daemon, worker = mps["services"]["mps"], compose["services"]["worker"]
    assert daemon["profiles"] == ["mps"]  # only with `docker compose --profile mps up`
    assert daemon["image"].startswith("nvidia/cuda:")
    assert shlex.split(_command(daemon)) == ["nvidia-cuda-mps-control", "-f"]  # foreground
    # The GPU reserved as the worker's is: `count: 1` is the same device in both containers.
    gpu = [daemon, worker]
    for key in ("deploy", "resources", "reservations", "devices"):
        gpu = [node[key] for node in gpu]
    assert gpu[0] == gpu[1]
    # One IPC namespace for MPS clients and server: the host's, which needs no running daemon.
    assert daemon["ipc"] == worker["ipc"] == "host"


def test_compose_mps_daemon_and_worker_share_the_pipe_directory(
    compose: dict[str, Any], mps: dict[str, Any]
) -> None:
    daemon, worker = mps["services"]["mps"], compose["services"]["worker"]

    def mounts(service: dict[str, Any]) -> dict[str, str]:
        return dict(reversed(v.split(":")[:2]) for v in service["volumes"])

    for variable in CUDA_MPS_ENV:
        path = _env(daemon)[variable]
        assert _env(worker)[variable] == path, variable
        # The same named volume at that path in both containers, declared by deploy/mps.yml.
        volume = mounts(daemon)[path]
        assert mounts(worker)[path] == volume, variable
        assert volume in mps["volumes"]
        # In memory, and open to the worker's user, under whom the daemon starts MPS servers.
        options = mps["volumes"][volume]["driver_opts"]
        assert options["type"] == "tmpfs" and "mode=1777" in options["o"].split(",")
    # The daemon starts first and stops last; without the profile the worker starts alone.
    assert worker["depends_on"]["mps"] == {"condition": "service_started", "required": False}


def _docker_compose() -> list[str] | None:
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ["docker", "compose"] if done.returncode == 0 else None


def test_docker_compose_config_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    """Compose's own reading of the file, where the compose plugin is installed (no daemon
    needed); skipped elsewhere, the tests above read the file as compose does."""
    compose = _docker_compose()
    if compose is None:
        pytest.skip("the docker compose plugin is not installed")
    command = [*compose, "--project-directory", str(ROOT), "config", "--format", "json"]
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    done = subprocess.run(command, env={**base, **SECRETS}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in SECRETS:
        missing = {**base, **{k: v for k, v in SECRETS.items() if k != name}}
        done = subprocess.run(command, env=missing, capture_output=True, text=True)
        assert done.returncode != 0 and name in done.stderr, (name, done.stderr)
