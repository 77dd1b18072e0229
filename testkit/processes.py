"""Processes that tests start and stop themselves: Redis, PostgreSQL, Celery workers, the API.

Every process starts in a session (process group) of its own and its id is kept, so that a test
signals only what it started and a finalizer can stop the whole group, children included, even
when the test failed. The shared servers on 5432 and 6379 are never touched here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from core.messaging.broker import CELERY_WORKER_ARGS, WEBHOOK_WORKER_ARGS
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    diagnose: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until it returns something other than None or False; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            details = f"\n{diagnose()}" if diagnose else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{details}")
        time.sleep(interval)


class Proc:
    """One started process, the leader of its own process group, logging to a file."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send_signal(self, sig: signal.Signals) -> None:
        """Signal the leader only, as an operator or the kernel would; its children are its own."""
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        """The exit status (negative: killed by that signal), or None if still running."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever of it is left."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            self.wait(timeout)
        # Orphans of the group (a training child whose parent was killed) go too.
        self._signal_group(signal.SIGKILL)
        self.wait(timeout)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def output(self, last: int = 80) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return f"[{self.name}: no log]"
        return (
            f"--- {self.name} (pid {self.pid}), last {last} lines of {self.log} ---\n"
            + "\n".join(lines[-last:])
        )


class Processes:
    """Starts processes and stops every one of them, newest first, in `stop_all`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Proc] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        preexec: Callable[[], None] | None = None,
    ) -> Proc:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()

    def diagnose(self, last: int = 60) -> str:
        return "\n".join(proc.output(last) for proc in self.started)


# --- /proc readings: Linux only, no psutil ---


def rss_kib(pid: int) -> int:
    """Resident set size of one process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


def children(pid: int, *, zombies: bool = False) -> list[int]:
    """Ids of the processes whose parent is `pid`: running ones, and exited but unreaped ones
    (zombies) if asked."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the fields after it do not.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and (zombies or fields[0] != "Z"):
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def idle_spare(pid: int) -> bool:
    """Whether the process is a worker's spare training process still waiting for its order
    (worker.spare): it names itself `crs-train` once it has one."""
    if "--spare" not in cmdline(pid):
        return False
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() != "crs-train"
    except OSError:
        return False


# --- servers of the tests' own ---


class RedisServer:
    """A redis-server on a free port with an append-only file, as the production compose runs it."""

    def __init__(self, processes: Processes, directory: Path) -> None:
        self.processes = processes
        self.directory = directory
        self.port = free_port()
        self.proc: Proc | None = None
        self.starts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.starts += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = self.processes.start(
            f"redis-{self.starts}",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.directory),
                "--save",
                "",
            ],
        )
        proc = self.proc
        wait_for(
            lambda: port_open(self.port) or (None if proc.alive() else "exited"),
            timeout=10,
            what=f"redis on port {self.port}",
            diagnose=proc.output,
        )
        if not proc.alive():
            raise RuntimeError(proc.output())

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            if self.proc.wait(15) is None:
                raise AssertionError(f"redis did not stop on SIGTERM\n{self.proc.output()}")
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class PostgresServer:
    """A PostgreSQL cluster of the test's own in a temporary folder, started and stopped by pg_ctl.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user and
    every command runs through `runuser`. The postmaster's id comes from its postmaster.pid file.
    """

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: that folder is private to root, and the server may not be.
        self.root = Path(tempfile.mkdtemp(prefix="crs-pg-"))
        self.data = self.root / "data"
        self.pid: int | None = None
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 60) -> None:
        command = list(argv)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{self.log_tail()}"
            )

    def log_tail(self, last: int = 40) -> str:
        try:
            lines = (self.root / "server.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- postgres server.log ---\n" + "\n".join(lines[-last:])

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            # A test cluster: durability off for speed, and quick to stop.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def stop(self, mode: str = "fast") -> None:
        """`fast` cuts every connection, as a restart by an operator or a failover does."""
        if self.pid is None:
            return
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            if pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def cleanup(self) -> None:
        """Stop the server (if running) and remove its folder."""
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


# --- the service's own processes ---


def service_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for an API or worker process: this one's, plus the settings given."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


def start_worker(
    processes: Processes,
    name: str,
    env: Mapping[str, str],
    *,
    ulimit: str | None = None,
    webhooks: bool = False,
) -> Proc:
    """`celery -A worker.app worker` as production runs it: a training worker
    (core.messaging.broker.CELERY_WORKER_ARGS: the threads pool, JOBS_PER_GPU jobs,
    queue `training`), or
    with `webhooks` a webhook worker (WEBHOOK_WORKER_ARGS, queue `webhooks`).

    `ulimit`, e.g. "-t 12", is applied by a shell that then execs the worker, so the limit holds
    for the worker and the training children it starts, and the worker's pid is the shell's.
    """
    argv = [
        str(VENV_BIN / "celery"),
        *(WEBHOOK_WORKER_ARGS if webhooks else CELERY_WORKER_ARGS),
        "-n",
        f"{name}@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if ulimit is not None:
        argv = ["bash", "-c", f'ulimit {ulimit} && exec "$@"', "bash", *argv]
    return processes.start(name, argv, env=service_env(env))


def wait_worker_ready(worker: Proc, timeout: float = 60) -> None:
    """Celery logs 'ready.' once it consumes from the queue."""
    wait_for(
        lambda: "ready." in worker.log.read_text(errors="replace") or not worker.alive(),
        timeout=timeout,
        what=f"worker {worker.name} to be ready",
        diagnose=worker.output,
    )
    if not worker.alive():
        raise AssertionError(f"worker {worker.name} exited at start\n{worker.output()}")


def start_api(
    processes: Processes, env: Mapping[str, str], *, name: str = "api"
) -> tuple[Proc, str]:
    """The API under uvicorn on a free port; returns the process and its base URL."""
    port = free_port()
    proc = processes.start(
        name,
        [
            str(VENV_BIN / "uvicorn"),
            "api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
        ],
        env=service_env(env),
    )
    wait_for(
        lambda: port_open(port) or (None if proc.alive() else "exited"),
        timeout=60,
        what="the API to listen",
        diagnose=proc.output,
    )
    if not proc.alive():
        raise AssertionError(f"the API exited at start\n{proc.output()}")
    return proc, f"http://127.0.0.1:{port}"


def start_make_run(processes: Processes, home: Path, **settings: str) -> tuple[Proc, str, str]:
    """`make run` (`python -m api.run_local`) in `home` on its embedded defaults, as a person
    starts it: its process, base URL and the key it prints. `settings` go over the defaults."""
    # The defaults, not this machine's settings: no DATABASE_URL, BROKER_URL, DATA_DIR, ...
    env = {
        name: value
        for name, value in service_env({}).items()
        if name.lower() not in Settings.model_fields
    }
    # No network in tests: the generated files are already in var/data.
    env.update(DOWNLOAD_DATASETS="false", DEVICE="cpu", **settings)
    port = free_port()
    proc = processes.start(
        "make-run",
        [sys.executable, "-m", "api.run_local", "--port", str(port)],
        env=env,
        cwd=home,
    )
    wait_for(
        lambda: "ready:" in proc.log.read_text() or not proc.alive(),
        timeout=90,
        what="make run to be ready",
        diagnose=proc.output,
    )
    assert proc.alive(), proc.output()
    found = re.search(r"API key:\s+(\S+)", proc.log.read_text())
    assert found is not None, proc.output()
    return proc, f"http://127.0.0.1:{port}", found[1]
