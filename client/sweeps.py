"""`crs sweep ...`: the sweep commands (issue 20: `crs sweep retry`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from client.api import Client
from client.commands import OK, emit, emit_json


def add_sweep_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """`crs sweep retry SWEEP_ID [--json]` under the top-level commands (`sub`: argparse's
    subparsers action, a private type)."""
    sweep = sub.add_parser(
        "sweep",
        help="a sweep's commands: retry",
        description="a sweep's commands",
        parents=[common],
    )
    commands = sweep.add_subparsers(dest="sweep_command", required=True, metavar="command")

    def add(name: str, run: Callable[[Client, argparse.Namespace], int], help_: str) -> Any:
        command = commands.add_parser(
            name, help=help_, description=help_, parents=[common], allow_abbrev=False
        )
        command.set_defaults(run=run)
        return command

    retry_command = add(
        "retry",
        retry,
        "queue a new attempt of every failed or cancelled child of a sweep (not the "
        "early-stopped ones); its report stays one",
    )
    retry_command.add_argument("sweep_id")
    retry_command.add_argument("--json", action="store_true", help="print the answer as JSON")


def retry(client: Client, args: argparse.Namespace) -> int:
    answer = client.retry_sweep(args.sweep_id)
    if args.json:
        emit_json(answer)
        return OK
    sweep = answer["sweep"]
    counts = ", ".join(f"{n} {status}" for status, n in sorted(sweep["counts"].items()))
    retried = answer["retried"]
    if retried:
        emit(f"sweep {sweep['id']}: {len(retried)} points retried; now {counts}")
        for job_id in retried:
            emit(f"  {job_id}")
    else:
        emit(f"sweep {sweep['id']}: nothing to retry ({counts})")
    return OK
