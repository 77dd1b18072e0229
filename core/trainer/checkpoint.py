"""Checkpoints: one plain dict that torch.save writes and torch.load(weights_only=True) reads.

Keys: model, optimizer, schedule (warm-up state), epoch (completed), batch (done in the current
epoch; 0 at a boundary), rng, epoch_stats (partial sums of the current epoch), history,
last_evaluation, config. Only tensors, dicts, lists, numbers, strings and None inside.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from core.spec.train_config import RESUME_MUST_MATCH

Checkpoint = dict[str, Any]


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies, so later training steps cannot change what was handed out."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def cpu_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    state = copy.deepcopy(optimizer.state_dict())
    for values in state["state"].values():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                values[key] = value.to("cpu").contiguous()
    return state


def capture_rng(data_generator_state: torch.Tensor) -> dict[str, Any]:
    """The data generator (a CPU generator) drives order and augmentation; the global CPU state
    covers anything else. Training draws nothing from a CUDA generator, so none is stored: a
    checkpoint of a machine with 8 GPUs must resume on one with 1 (issue 13)."""
    return {"torch": torch.get_rng_state(), "data": data_generator_state.clone()}


def restore_rng(rng: dict[str, Any], data_generator: torch.Generator) -> None:
    # Checkpoints written before issue 13 may hold a "cuda" entry: one state per GPU of the
    # machine that wrote it. It never influenced training, so it is ignored.
    torch.set_rng_state(rng["torch"])
    data_generator.set_state(rng["data"])


def check_resumable(checkpoint: Checkpoint, config_values: dict[str, Any]) -> None:
    required = ("model", "optimizer", "schedule", "epoch", "batch", "rng", "epoch_stats", "config")
    missing = [key for key in required if key not in checkpoint]
    if missing:
        raise ValueError(f"not a trainer checkpoint: missing {', '.join(missing)}")
    saved = checkpoint["config"]
    changed = [k for k in RESUME_MUST_MATCH if saved.get(k) != config_values.get(k)]
    if changed:
        detail = ", ".join(f"{k} {saved.get(k)!r} -> {config_values.get(k)!r}" for k in changed)
        raise ValueError(f"cannot resume: the checkpoint was made with other settings ({detail})")
