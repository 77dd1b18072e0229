"""The CUDA-path defects of issue 13, fixed with tests that run on the CPU."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest
import torch

from core.trainer import loop as loop_module
from core.trainer.checkpoint import capture_rng, restore_rng
from core.trainer.device import BF16, FP16, FP32, choose_precision
from core.trainer.fit import fit
from tests.core.conftest import TinyConfig

# `core.trainer.fit` is also the name of the function the package exports.
fit_module = importlib.import_module("core.trainer.fit")
CUDA = torch.device("cuda")
CPU = torch.device("cpu")


def test_checkpoint_rng_holds_no_cuda_state_even_when_cuda_is_in_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)

    def every_gpu() -> list[torch.Tensor]:
        raise AssertionError("training draws nothing from the CUDA generators")

    monkeypatch.setattr(torch.cuda, "get_rng_state_all", every_gpu)
    rng = capture_rng(torch.Generator().manual_seed(1).get_state())
    assert set(rng) == {"torch", "data"}


def test_checkpoint_from_a_machine_with_more_gpus_restores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pre-issue-13 checkpoint holds one CUDA state per GPU of the machine that wrote it."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def one_gpu_machine(states: list[torch.Tensor]) -> None:
        if len(states) > 1:
            raise IndexError("list index out of range")  # what CUDA raised with fewer GPUs

    monkeypatch.setattr(torch.cuda, "set_rng_state_all", one_gpu_machine)
    generator = torch.Generator().manual_seed(3)
    old = {**capture_rng(generator.get_state()), "cuda": [torch.zeros(16, dtype=torch.uint8)] * 8}
    restored = torch.Generator()
    restore_rng(old, restored)
    assert torch.equal(restored.get_state(), generator.get_state())


@pytest.mark.parametrize(
    ("requested", "device", "capability", "expected"),
    [
        ("auto", CPU, None, FP32),
        ("auto", CUDA, (7, 0), FP16),  # V100: no fast bf16, fp16 with a gradient scaler
        ("auto", CUDA, (7, 5), FP16),  # T4
        ("auto", CUDA, (8, 0), BF16),  # A100
        ("auto", CUDA, (9, 0), BF16),  # H100
        ("fp32", CUDA, (9, 0), FP32),
        ("fp16", CUDA, (9, 0), FP16),
        ("bf16", CUDA, (7, 0), BF16),  # asked for explicitly: honoured, with a warning
    ],
)
def test_precision_auto_picks_bf16_only_where_it_is_fast(
    requested: str, device: torch.device, capability: tuple[int, int] | None, expected: Any
) -> None:
    chosen = choose_precision(requested, device, capability)
    assert chosen == expected
    assert chosen.needs_scaler == (chosen.name == "fp16")


def test_fit_reports_the_precision_it_used(tiny_config: TinyConfig) -> None:
    result = fit(tiny_config(epochs=1, precision="auto"))
    assert result.precision == "fp32"


@pytest.mark.slow
def test_fp16_run_scales_its_loss_and_resumes_the_scaler(tiny_config: TinyConfig) -> None:
    checkpoints: list[dict[str, Any]] = []
    result = fit(tiny_config(epochs=1, precision="fp16"), on_checkpoint=checkpoints.append)
    assert result.precision == "fp16"
    assert checkpoints[-1]["scaler"]["scale"] > 0


def test_epoch_seconds_include_drawing_the_plan_and_taking_the_checkpoint(
    tiny_config: TinyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    pause = 0.4
    plan_epoch = loop_module.plan_epoch
    cpu_state_dict = fit_module.cpu_state_dict

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        time.sleep(pause)
        return plan_epoch(*args, **kwargs)

    calls = {"checkpoint": 0}

    def slow_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
        calls["checkpoint"] += 1
        time.sleep(pause)
        return cpu_state_dict(model)

    monkeypatch.setattr(loop_module, "plan_epoch", slow_plan)
    monkeypatch.setattr(fit_module, "cpu_state_dict", slow_copy)
    seen: list[float] = []
    started = time.perf_counter()
    result = fit(tiny_config(epochs=1), on_checkpoint=lambda c: seen.append(1.0))
    elapsed = time.perf_counter() - started
    assert calls["checkpoint"] >= 1 and seen
    epoch = result.history[0]
    assert epoch.seconds >= 2 * pause, epoch
    assert epoch.seconds <= elapsed
