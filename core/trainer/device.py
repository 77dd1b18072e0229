"""Where and in which number format the trainer computes."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """ "auto": the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use cpu or auto")
    return device


# Compute capability from which a GPU has fast bfloat16 (Ampere, sm_80); before it bf16 is
# emulated, and fp16 with a gradient scaler is the fast half precision.
BF16_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Precision:
    """The number format a run actually uses (precision "auto" resolved for the device)."""

    name: str  # "fp32", "bf16" or "fp16"
    dtype: torch.dtype | None  # autocast dtype; None for plain float32

    @property
    def needs_scaler(self) -> bool:
        """fp16's narrow exponent flushes small gradients to zero unless the loss is scaled."""
        return self.dtype == torch.float16


FP32 = Precision("fp32", None)
BF16 = Precision("bf16", torch.bfloat16)
FP16 = Precision("fp16", torch.float16)


def choose_precision(
    requested: str, device: torch.device, capability: tuple[int, int] | None = None
) -> Precision:
    """What `requested` means on `device`; capability defaults to the CUDA device's own."""
    if requested == "fp32" or (requested == "auto" and device.type != "cuda"):
        return FP32
    if requested not in ("auto", "bf16", "fp16"):
        raise ValueError(
            f"precision must be one of 'auto', 'fp32', 'bf16', 'fp16', got {requested!r}"
        )
    if device.type == "cuda" and capability is None:
        capability = torch.cuda.get_device_capability(device)
    fast_bf16 = capability is not None and capability >= BF16_CAPABILITY
    if requested == "auto":
        return BF16 if fast_bf16 else FP16
    if requested == "bf16" and device.type == "cuda" and not fast_bf16:
        log.warning("this GPU (capability %s) has no fast bfloat16: fp16 runs faster", capability)
    if (
        requested == "bf16"
        and device.type == "cpu"
        and not torch.ops.mkldnn._is_mkldnn_bf16_supported()
    ):
        # Measured on a 2-core AVX2 EPYC: ResNet-20 steps ran about 10x slower than in fp32.
        log.warning("this CPU lacks native bfloat16 arithmetic: bf16 runs much slower than fp32")
    return BF16 if requested == "bf16" else FP16


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of `precision` on `device`, or None for plain float32."""
    return choose_precision(precision, device).dtype


def grad_scaler(precision: Precision, device: torch.device) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler(device.type) if precision.needs_scaler else None


def autocast(
    device: torch.device, dtype: torch.dtype | None
) -> contextlib.AbstractContextManager[object]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
