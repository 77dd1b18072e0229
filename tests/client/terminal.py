"""Running `crs` as a person does: in a pseudo-terminal of its own, with Ctrl-C at hand.

The child gets a new session whose controlling terminal is the pty, so rich draws its live
progress bar, and a Ctrl-C byte written to the master sends SIGINT to the child's process group,
exactly as a key press in a terminal does.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from tests.client.conftest import cli_env

# Rich redraws its bar with a carriage return, erase-line and cursor-up sequences: those end a
# line of the picture; colour and other sequences are dropped.
LINE_BREAKS = re.compile(r"\r|\x1b\[[0-9]*K|\x1b\[[0-9]*A")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
CTRL_C = b"\x03"


def plain(text: str) -> str:
    """What the terminal showed, one frame or printed line a line, without colours."""
    lines = ANSI.sub("", LINE_BREAKS.sub("\n", text)).splitlines()
    return "\n".join(line for line in lines if line.strip())


class Terminal:
    def __init__(
        self, args: list[str], *, cwd: Path | None = None, columns: int = 140, **env: str
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        environment = cli_env(TERM="xterm-256color", COLUMNS=str(columns), **env)
        environment.pop("NO_COLOR", None)

        def controlling_terminal() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.popen = subprocess.Popen(
            [sys.executable, "-m", "client", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=environment,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.master = master
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self._raw.extend(chunk)

    @property
    def raw(self) -> str:
        with self._lock:
            return self._raw.decode(errors="replace")

    @property
    def text(self) -> str:
        return plain(self.raw)

    def wait_for(self, needle: str, timeout: float, diagnose: str = "") -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"no {needle!r} on the terminal (exit {self.popen.poll()}):\n"
                    f"{self.text[-3000:]}\n{diagnose}"
                )
            time.sleep(0.1)

    def ctrl_c(self) -> None:
        os.write(self.master, CTRL_C)

    def wait(self, timeout: float) -> int:
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"crs still running after {timeout} s:\n{self.text[-3000:]}"
            ) from None
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        os.close(self.master)
