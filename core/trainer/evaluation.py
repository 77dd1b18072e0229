"""Test-set evaluation: loss, accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.trainer.device import autocast, autocast_dtype


class Evaluation(NamedTuple):
    loss: float  # mean cross-entropy
    accuracy: float  # fraction in [0, 1]
    per_class_accuracy: list[float]  # recall of each class; 0.0 for a class with no images
    confusion_matrix: list[list[int]]  # [true][predicted] counts


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int = 1000,
    device: torch.device | str | None = None,
    num_classes: int | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
) -> Evaluation:
    """Evaluate model on images (uint8 N x 3 x 32 x 32, or floats in [0, 1]) and int64 labels.

    device defaults to where the model's parameters are; the model is left in eval mode.
    """
    target = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = autocast_dtype(precision, target)
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=target)
    predictions = []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size].to(target, non_blocking=True)
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        truth = labels[start : start + batch_size].to(target, non_blocking=True)
        with autocast(target, dtype):
            logits = model(batch).float()  # argmax and loss of float32 logits, as in training
        loss_sum += F.cross_entropy(logits, truth, reduction="sum").double()
        predictions.append(logits.argmax(dim=1))
    predicted = torch.cat(predictions).cpu() if predictions else torch.zeros(0, dtype=torch.int64)
    truth_all = labels.cpu()
    classes = num_classes if num_classes is not None else _output_size(model, truth_all)
    confusion = torch.bincount(truth_all * classes + predicted, minlength=classes * classes)
    confusion = confusion.reshape(classes, classes)
    per_class = confusion.diagonal() / confusion.sum(dim=1).clamp_min(1)
    count = max(images.shape[0], 1)
    return Evaluation(
        loss=float(loss_sum) / count,
        accuracy=int(confusion.diagonal().sum()) / count,
        per_class_accuracy=[float(a) for a in per_class],
        confusion_matrix=confusion.tolist(),
    )


def _output_size(model: nn.Module, labels: torch.Tensor) -> int:
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear):
        return fc.out_features
    return int(labels.max()) + 1 if labels.numel() else 1
