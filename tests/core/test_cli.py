from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.spec import TrainConfig
from core.train import build_parser, config_from_args
from core.trainer.fit import fit
from core.trainer.models import build_model
from tests.core.conftest import assert_same_tensors

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _options(data_dir: Path) -> list[str]:
    # The step schedule depends on the epoch only, not on the length of training, so one epoch
    # of this run is the first epoch of a longer one.
    return [
        "--architecture", "plain", "--depth", "8", "--batch-size", "50", "--device", "cpu",
        "--data-dir", str(data_dir), "--lr-schedule", "step", "--no-channels-last",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def one_epoch(cifar10_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of `python -m core.train ... --epochs 1` with weights, metrics, checkpoint."""
    out = tmp_path_factory.mktemp("cli")
    done = _run(
        *_options(cifar10_dir), "--epochs", "1", "--out", str(out / "weights" / "w.pt"),
        "--metrics-out", str(out / "metrics.json"), "--checkpoint", str(out / "c.pt"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (out / "stdout.txt").write_text(done.stdout)
    return out


def test_cli_trains_and_writes_weights_and_metrics(one_epoch: Path) -> None:
    assert "epoch 1/1" in (one_epoch / "stdout.txt").read_text()
    model = build_model("plain", 8)
    model.load_state_dict(torch.load(one_epoch / "weights" / "w.pt", weights_only=True))
    report = json.loads((one_epoch / "metrics.json").read_text())
    assert [m["epoch"] for m in report["history"]] == [1]
    assert report["config"]["architecture"] == "plain"
    assert report["config"]["lr_schedule"] == "step"
    assert len(report["confusion_matrix"]) == 10
    assert report["test_accuracy"] == report["history"][-1]["test_accuracy"]


def test_cli_resume_continues_to_the_same_weights(one_epoch: Path, cifar10_dir: Path) -> None:
    # --epochs 2 overrides the checkpoint's config; the other settings come from it.
    done = _run(
        "--resume", str(one_epoch / "c.pt"), "--epochs", "2", "--out", str(one_epoch / "2.pt")
    )
    assert done.returncode == 0, done.stderr
    assert "epoch 2/2" in done.stdout and "epoch 1/2" not in done.stdout
    config = TrainConfig(
        architecture="plain", depth=8, batch_size=50, device="cpu", data_dir=str(cifar10_dir),
        lr_schedule="step", channels_last=False, epochs=2,
    )  # fmt: skip
    assert_same_tensors(torch.load(one_epoch / "2.pt", weights_only=True), fit(config).state_dict)


def test_cli_missing_data_exits_with_message_not_traceback(tmp_path: Path) -> None:
    done = _run("--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "w.pt"))
    assert done.returncode == 2
    assert "error: cifar10 not found in" in done.stderr
    assert "cifar-10-batches-py/data_batch_1" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_invalid_depth_exits_with_message_not_traceback(tmp_path: Path) -> None:
    done = _run("--depth", "21", "--out", str(tmp_path / "w.pt"))
    assert done.returncode == 2
    assert "depth must be 6n+2" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "learning_rate"),
    [
        (["--architecture", "vgg", "--depth", "11"], 0.01),  # its recipe, left out
        (["--architecture", "vgg", "--depth", "11", "--learning-rate", "0.1"], 0.1),
        (["--architecture", "resnet"], 0.1),
    ],
)
def test_cli_learning_rate_left_out_takes_the_architecture_recipe(
    options: list[str], learning_rate: float
) -> None:
    args = build_parser().parse_args(["--out", "w.pt", *options])
    assert config_from_args(args).learning_rate == learning_rate
