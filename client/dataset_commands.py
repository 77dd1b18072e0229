"""`crs dataset upload|list|show|delete` (issue 19): a thin shell over client.datasets."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)

from client.api import Client
from client.commands import OK, emit, emit_json

REFUSED = 2  # the service refused the file (as for a 4xx): the usage-error status


def add_parser(
    add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register `dataset` and its subcommands through cli.build_parser's `add`; `common`: the
    connection options every subcommand takes."""
    parser = add("dataset", upload, "your own data sets: upload, list, show, delete")
    sub = parser.add_subparsers(dest="dataset_command", required=True, metavar="action")

    def action(name: str, run: Any, help_: str) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name, help=help_, description=help_, parents=[common], allow_abbrev=False
        )
        command.set_defaults(run=run)
        return command

    up = action(
        "upload",
        upload,
        "upload a CIFAR python archive, an image-folder .zip/.tar[.gz] (train/<class>/<image>, "
        "optionally test/<class>/<image>) or an .npz, with a byte progress bar",
    )
    up.add_argument("path")
    up.add_argument("--name", help="your name for it (default: the file's name)")
    up.add_argument("--test-fraction", type=float, help="test share without a test/ folder")
    up.add_argument("--seed", type=int, help="seed of that split")
    up.add_argument("--no-wait", action="store_true", help="do not wait for processing")
    up.add_argument("-q", "--quiet", action="store_true", help="print only the data set's id")
    up.add_argument("--json", action="store_true")

    listing = action("list", list_command, "the built-in data sets and your uploads")
    listing.add_argument("--json", action="store_true")

    show = action("show", show_command, "a data set's status, classes and counts")
    show.add_argument("dataset_id")
    show.add_argument("--json", action="store_true")

    delete = action("delete", delete_command, "delete one of your data sets")
    delete.add_argument("dataset_id")


def _line(dataset: dict[str, Any]) -> str:
    counts = (
        f"{dataset['train_images']}+{dataset['test_images']} images, "
        f"{dataset['num_classes']} classes"
        if dataset["status"] == "ready"
        else f"{dataset['progress']:.0%}"
    )
    return f"{dataset['id']}  {dataset['status']:<10}  {dataset['name']:<20}  {counts}"


def upload(client: Client, args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    quiet = args.quiet or args.json or not console.is_terminal
    size = Path(args.path).stat().st_size
    with Progress(
        TextColumn("upload"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=quiet,
    ) as bar:
        task = bar.add_task("upload", total=size)
        dataset = client.datasets.upload(
            args.path,
            name=args.name,
            test_fraction=args.test_fraction,
            seed=args.seed,
            on_bytes=lambda sent: bar.update(task, completed=sent),
        )
    if not args.no_wait:
        dataset = client.datasets.wait(dataset["id"])
    if args.json:
        emit_json(dataset)
    elif args.quiet:
        emit(dataset["id"])
    else:
        emit(_line(dataset))
    if dataset["status"] == "failed":
        sys.stderr.write(f"crs: error: the data set was refused: {dataset['error']}\n")
        return REFUSED
    return OK


def list_command(client: Client, args: argparse.Namespace) -> int:
    found = client.datasets.list()
    if args.json:
        emit_json(found)
        return OK
    for builtin in found["builtin"]:
        here = "available" if builtin["available"] else "not on the workers"
        emit(f"{builtin['name']:<36}  built-in    {builtin['classes']} classes, {here}")
    for dataset in found["uploads"]:
        emit(_line(dataset))
    return OK


def show_command(client: Client, args: argparse.Namespace) -> int:
    dataset = client.datasets.get(args.dataset_id)
    if args.json:
        emit_json(dataset)
        return OK
    emit(_line(dataset))
    if dataset.get("error"):
        emit(f"error: {dataset['error']}")
    if dataset["status"] == "ready":
        emit(f"fingerprint: {dataset['fingerprint']}")
        counts = dataset["class_counts"]
        for index, name in enumerate(dataset["class_names"]):
            emit(f"  {name:<24} {counts['train'][index]:>7} train {counts['test'][index]:>6} test")
    return OK


def delete_command(client: Client, args: argparse.Namespace) -> int:
    client.datasets.delete(args.dataset_id)
    emit(f"deleted {args.dataset_id}")
    return OK
