"""Servers of a test's own: a redis-server and a PostgreSQL cluster on free ports, which a test
may stop, restart or kill (the shared servers on 5432 and 6379 are never touched)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from testkit.processes import Proc, Processes, free_port, port_open, wait_for
from testkit.procfs import pid_alive

PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


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
