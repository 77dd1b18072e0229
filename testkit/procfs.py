"""Readings of /proc (Linux only, no psutil): a process's memory, its children, whether it
runs, its command line, and the machine's CPU model for the benchmarks' reports."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


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


def cpu_name() -> str:
    """The CPU's model name, as a benchmark's report names the machine."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    # No /proc/cpuinfo model line (some ARM machines): lscpu knows it from the device tree.
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line]
    return names[0] if names else platform.processor() or "unknown CPU"


def reset_peak_rss(pid: int) -> None:
    """Start a new peak-memory reading of a process (Linux >= 4.0: writing 5 to clear_refs
    resets VmHWM); needs the right to write there, as for one's own processes."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_kib(pid: int) -> int:
    """Highest resident set size (VmHWM) since the process started or the last reset, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise LookupError(f"no VmHWM for pid {pid}")
