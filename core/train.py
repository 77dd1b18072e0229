"""Command line: train a CIFAR network and write its weights (a state_dict) and metrics.

    python -m core.train --architecture resnet --depth 20 --epochs 2 --data-dir DIR \\
        --out weights.pt --metrics-out metrics.json

Every TrainConfig field is an option (--lr-schedule, --no-augment, ...); see --help.
Ctrl-C stops after the current batch, writing a checkpoint (with --checkpoint) to --resume from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import spec
from core.spec import TrainConfig
from core.trainer.errors import DatasetNotFoundError, TrainingDivergedError

if TYPE_CHECKING:  # torch takes seconds to import: not before the options are checked
    from core.trainer.checkpoint import Checkpoint
    from core.trainer.results import EpochMetrics, FitResult


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training configuration (TrainConfig fields)")
    for setting in spec.settings():
        flag = "--" + setting.name.replace("_", "-")
        kind = setting.type
        help_text = f"{setting.option.doc} (default: {setting.default!r})"
        options: dict[str, Any] = {"dest": setting.name, "default": None, "help": help_text}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            options.update(nargs="+", type=typing.get_args(kind)[0], metavar="X")
        elif typing.get_origin(kind) in (typing.Union, types.UnionType):  # str | None
            options.update(type=next(a for a in typing.get_args(kind) if a is not type(None)))
        else:
            options["type"] = kind
        if setting.option.choices is not None:
            options["choices"] = setting.option.choices
        group.add_argument(flag, **options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.train",
        description="Train a CIFAR ResNet or plain net (He et al. 2016, section 4.2).",
    )
    parser.add_argument("--out", type=Path, required=True, help="weights file (a state_dict)")
    parser.add_argument("--metrics-out", type=Path, help="JSON file: history and final results")
    parser.add_argument("--checkpoint", type=Path, help="write resumable checkpoints here")
    parser.add_argument(
        "--checkpoint-interval", type=float, help="also checkpoint mid-epoch every this many s"
    )
    parser.add_argument("--resume", type=Path, help="continue the run of this checkpoint")
    parser.add_argument("--verbose", action="store_true", help="log details to stderr")
    _add_config_options(parser)
    return parser


def config_from_args(args: argparse.Namespace, base: dict[str, Any] | None = None) -> TrainConfig:
    """The options given on the command line over base (a resumed run's config) or the
    defaults, the architecture's recipe included (TrainConfig.from_dict)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return TrainConfig.from_dict({**(base or {}), **given})


def _load_checkpoint(path: Path) -> Checkpoint:
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # missing, truncated or foreign file
        raise ValueError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("config"), dict):
        raise ValueError(f"{path} is not a trainer checkpoint")
    return checkpoint


def _save(content: object, path: Path) -> None:
    """Write to a temporary file and rename, so a crash never leaves half a file."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(content, partial)
    os.replace(partial, path)


class Progress:
    """A one-line bar for the batches of an epoch, on stderr when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def batch(self, epoch: int, done: int, total: int) -> None:
        if self.enabled:
            filled = 30 * done // total
            bar = "#" * filled + "." * (30 - filled)
            print(f"\repoch {epoch} [{bar}] {done}/{total}", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.enabled:
            print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)


def _epoch_line(metrics: EpochMetrics, epochs: int) -> str:
    return (
        f"epoch {metrics.epoch}/{epochs}  train loss {metrics.train_loss:.4f} "
        f"acc {metrics.train_accuracy:.2%}  test loss {metrics.test_loss:.4f} "
        f"acc {metrics.test_accuracy:.2%}  lr {metrics.learning_rate:.4g}  "
        f"{metrics.seconds:.1f} s  {metrics.images_per_second:.0f} img/s"
    )


def run(args: argparse.Namespace) -> int:
    resume_from = _load_checkpoint(args.resume) if args.resume is not None else None
    config = config_from_args(args, resume_from["config"] if resume_from else None)
    from core.trainer.fit import fit

    progress = Progress()
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    def on_epoch(metrics: EpochMetrics) -> None:
        progress.clear()
        print(_epoch_line(metrics, config.epochs), flush=True)

    def on_checkpoint(checkpoint: Checkpoint) -> None:
        if args.checkpoint is not None:
            _save(checkpoint, args.checkpoint)

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        result = fit(
            config,
            on_epoch=on_epoch,
            should_stop=lambda: stop,
            resume_from=resume_from,
            on_checkpoint=on_checkpoint,
            checkpoint_interval_s=args.checkpoint_interval,
            on_batch=progress.batch,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.clear()
    _save(result.state_dict, args.out)
    if args.metrics_out is not None:
        _write_metrics(result, config, args.metrics_out)
    print(_summary(result, args.out))
    return 130 if result.stopped else 0


def _write_metrics(result: FitResult, config: TrainConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"config": config.to_dict(), **result.metrics_dict()}
    path.write_text(json.dumps(content, indent=2) + "\n")


def _summary(result: FitResult, out: Path) -> str:
    if result.stopped:
        return f"stopped after {result.epochs_completed} epochs; weights so far in {out}"
    return f"final test accuracy {result.test_accuracy:.2%}; weights in {out}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(args)
    except (DatasetNotFoundError, ValueError) as error:  # bad input: say what, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
