"""torch.compile changes how a step runs, never what it computes (issue 13)."""

from __future__ import annotations

import pytest
import torch

from core.trainer import compiled as compiled_module
from core.trainer.compiled import AUTO_MIN_EPOCHS, compile_enabled
from core.trainer.fit import fit
from tests.core.conftest import TinyConfig


@pytest.mark.parametrize(
    ("setting", "device", "epochs", "expected"),
    [
        ("on", "cpu", 1, True),
        ("off", "cuda", 500, False),
        ("auto", "cpu", 500, False),  # the CPU's compile time is never repaid here
        ("auto", "cuda", AUTO_MIN_EPOCHS - 1, False),
        ("auto", "cuda", AUTO_MIN_EPOCHS, True),
    ],
)
def test_compile_auto_only_for_long_cuda_runs(
    setting: str, device: str, epochs: int, expected: bool
) -> None:
    assert compile_enabled(setting, torch.device(device), epochs) is expected


@pytest.mark.slow
def test_compiled_run_matches_eager_within_float_tolerance(
    tiny_config: TinyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inductor's C++ code generation takes many minutes on two shared cores; the aot_eager
    # backend runs the same capture (Dynamo graphs, static shapes, AOT autograd) and executes
    # the captured graphs eagerly. bench/compile_step.py measures inductor itself.
    real_compile = torch.compile

    def capture_only(model: torch.nn.Module, *, mode: str, dynamic: bool) -> object:
        assert mode == "default" and dynamic is False
        return real_compile(model, backend="aot_eager", dynamic=dynamic)

    monkeypatch.setattr(compiled_module.torch, "compile", capture_only)
    # 500 images at batch 64: a last batch of 52 is a second training shape, and 200 test
    # images at evaluation batch 128 a second evaluation shape; each compiles once.
    config = {"epochs": 2, "batch_size": 64, "eval_batch_size": 128}
    eager = fit(tiny_config(compile="off", **config))
    compiled = fit(tiny_config(compile="on", **config))
    assert (eager.compiled, compiled.compiled) == (False, True)
    assert not any(k.startswith("_orig_mod") for k in compiled.state_dict)
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-3, abs=1e-4)
        assert b.test_loss == pytest.approx(a.test_loss, rel=1e-3, abs=1e-4)
        assert abs(b.test_accuracy - a.test_accuracy) <= 0.01  # at most 2 of 200 images
    for name, value in eager.state_dict.items():
        assert torch.allclose(value.float(), compiled.state_dict[name].float(), atol=1e-3), name
