"""Starting weights (fine-tuning, frozen_base) and the frozen base itself."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from core.trainer.errors import IncompatibleWeightsError
from core.trainer.layers import BN_EPS, CLASSIFIER, CifarNet

log = logging.getLogger(__name__)

# Prefixes other tools put before the parameter names: torch.compile and DataParallel.
_WRAPPER_PREFIXES = ("_orig_mod.", "module.")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors by name from a weights file (a state_dict, or a trainer checkpoint's "model")."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise IncompatibleWeightsError(f"weights file {path} does not exist") from error
    except Exception as error:  # torch.load raises many types for a corrupt or foreign file
        raise IncompatibleWeightsError(f"cannot read weights file {path}: {error}") from error
    if isinstance(content, dict) and isinstance(content.get("model"), dict):
        content = content["model"]
    if (
        not isinstance(content, dict)
        or not content
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in content.items())
    ):
        raise IncompatibleWeightsError(
            f"{path} is not a state_dict (a dict of parameter names to tensors)"
        )
    for prefix in _WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in content):
            content = {k[len(prefix) :]: v for k, v in content.items()}
    return content


def load_initial_weights(model: CifarNet, path: str | Path) -> bool:
    """Load every tensor of the file into model; the classifier only where its shape fits.

    Returns whether the classifier was loaded (False: the file has another number of classes,
    so model keeps its freshly initialised fc). The normalisation statistics come from the file:
    the base layers only make sense on inputs normalised as in their training.
    """
    # BN eps is a training setting here (the config's applies after loading), not a tensor to match.
    state = {k: v for k, v in read_state_dict(path).items() if k != BN_EPS}
    expected = {k: v for k, v in model.state_dict().items() if k != BN_EPS}
    is_base = [k for k in expected if not k.startswith(CLASSIFIER + ".")]
    missing = [k for k in is_base if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [k for k in is_base if k in state and state[k].shape != expected[k].shape]
    problems = []
    groups = (("missing", missing), ("unexpected", unexpected), ("of another shape", reshaped))
    for label, keys in groups:
        if keys:
            problems.append(f"{len(keys)} tensors {label} (e.g. {', '.join(keys[:3])})")
    if (
        not problems
        and "residual" in expected
        and bool(state["residual"]) != bool(expected["residual"])
    ):
        problems.append("a plain net's weights for a resnet, or the reverse")
    if problems:
        raise IncompatibleWeightsError(
            f"{path} does not fit a {_describe(model)}: {'; '.join(problems)}. "
            "Were the weights trained with another depth, architecture or shortcut option?"
        )
    head = [k for k in expected if k.startswith(CLASSIFIER + ".")]
    load_head = all(k in state and state[k].shape == expected[k].shape for k in head)
    merged = {k: (state[k] if k in is_base or load_head else expected[k]) for k in expected}
    model.load_state_dict(merged)
    if not load_head:
        log.info("weights from %s: base loaded, new %d-class classifier", path, _classes(model))
    return load_head


def freeze_base(model: nn.Module) -> None:
    """Only the classifier keeps requires_grad (frozen_base mode)."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(CLASSIFIER + "."))


def set_train_mode(model: nn.Module, *, frozen_base: bool) -> None:
    """Training mode; in frozen_base the base's batch norm stays in eval mode (stats frozen)."""
    model.train()
    if frozen_base:
        for name, child in model.named_children():
            if name != CLASSIFIER:
                child.eval()


def _classes(model: CifarNet) -> int:
    fc = getattr(model, CLASSIFIER)
    return int(fc.out_features)


def _describe(model: CifarNet) -> str:
    return f"{model.architecture}-{model.depth} with {_classes(model)} classes"
