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

Checkpoint = dict[str, Any]

# Fields whose change makes a checkpoint meaningless for a run (other fields may differ, e.g.
# more epochs, another device).
RESUME_MUST_MATCH = ("architecture", "depth", "shortcut", "dataset", "train_mode", "batch_size")


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
    """The data generator drives order and augmentation; the global states cover anything else
    (model initialisation happens before training, so they matter only for custom use)."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "data": data_generator_state.clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng(rng: dict[str, Any], data_generator: torch.Generator) -> None:
    torch.set_rng_state(rng["torch"])
    data_generator.set_state(rng["data"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


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
