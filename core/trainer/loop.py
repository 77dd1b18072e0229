"""One epoch of SGD over a training set that lives on the device as one uint8 tensor."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from core.spec import TrainConfig
from core.trainer.augment import plan_epoch, training_batch
from core.trainer.device import autocast
from core.trainer.errors import TrainingDivergedError
from core.trainer.schedule import WarmupState, learning_rate

# Cross-entropy starts near ln(classes) (2.3 for 10, 4.6 for 100 classes) and a healthy run
# stays below that; a mean batch loss of 10^4 means logits 10^4 apart on the wrong side, which
# no run recovers from, while transient spikes of tens still pass.
DIVERGENCE_LOSS = 1e4
# On an accelerator, read losses back only every this many steps (each read waits for the GPU);
# every step while warming up, whose decision needs each batch's error.
SYNC_EVERY = 25


@dataclass
class EpochStats:
    """Running sums of the current epoch (kept in checkpoints taken mid-epoch)."""

    loss_sum: float = 0.0  # sum over images of the cross-entropy
    correct: int = 0
    seen: int = 0
    train_seconds: float = 0.0  # time in training steps
    seconds: float = 0.0  # wall time of the epoch so far

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TrainState:
    """Where a run is: the part of a checkpoint that is not model, optimizer or config."""

    epoch: int  # completed epochs
    batch: int  # batches done in the current epoch
    warmup: WarmupState
    epoch_rng: torch.Tensor  # data generator state at the start of the current epoch
    # (the caller advances it to generator.get_state() when it closes an epoch)
    stats: EpochStats = field(default_factory=EpochStats)
    last_checkpoint: float = field(default_factory=time.monotonic)


def batches_per_epoch(size: int, batch_size: int) -> int:
    return math.ceil(size / batch_size)  # the last, smaller batch is kept, as in the paper's code


def train_one_epoch(
    model: Callable[[torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: TrainConfig,
    state: TrainState,
    generator: torch.Generator,
    autocast_dtype: torch.dtype | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_batch: Callable[[int, int, int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    checkpoint_interval_s: float | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> bool:
    """Train from state.batch to the end of epoch state.epoch + 1; False if should_stop() said so.

    model: the network (or its torch.compile wrapper), already in training mode. images: uint8
    N x 3 x 32 x 32 on the training device; labels int64 N there. should_stop is
    polled before every batch; checkpoint() is called every checkpoint_interval_s seconds.
    """
    started = time.perf_counter()  # the epoch's wall time includes drawing its plan
    device = images.device
    steps = batches_per_epoch(images.shape[0], config.batch_size)
    # From the epoch's first state, so a run resumed mid-epoch draws the same plan again and
    # skips the batches done.
    generator.set_state(state.epoch_rng)
    plan = plan_epoch(
        images.shape[0],
        generator,
        device,
        augment=config.augment,
        augmentation=config.augmentation,
    )
    sync_every = 1 if device.type == "cpu" else SYNC_EVERY
    pending: list[tuple[int, torch.Tensor, torch.Tensor, int]] = []

    def flush() -> None:
        if not pending:
            return
        values = torch.stack([torch.stack([loss, hits]) for _, loss, hits, _ in pending]).tolist()
        for (batch, _, _, size), (loss, correct) in zip(pending, values, strict=True):
            if not math.isfinite(loss) or loss > DIVERGENCE_LOSS:
                raise TrainingDivergedError(
                    f"training diverged at epoch {state.epoch + 1}, batch {batch + 1} "
                    f"(loss {loss:.4g}); learning rate too high?"
                )
            state.stats.loss_sum += loss * size
            state.stats.correct += int(correct)
            state.stats.seen += size
            state.warmup.update(1.0 - correct / size, config)
        pending.clear()

    def account_time() -> None:
        nonlocal started
        now = time.perf_counter()
        state.stats.train_seconds += now - started
        state.stats.seconds += now - started
        started = now

    while state.batch < steps:
        if should_stop is not None and should_stop():
            flush()
            account_time()
            return False
        lr = learning_rate(
            config,
            epoch=state.epoch,
            batch=state.batch,
            batches_per_epoch=steps,
            warming_up=state.warmup.active,
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        start = state.batch * config.batch_size
        inputs, targets = training_batch(images, labels, plan, start, start + config.batch_size)
        with autocast(device, autocast_dtype):
            logits = model(inputs)
        # Loss and accuracy from one float32 tensor, so the two never disagree (issue 13).
        logits = logits.float()
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:  # fp16: scale the loss so small gradients do not flush to zero
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        correct = (logits.argmax(dim=1) == targets).sum()
        pending.append((state.batch, loss.detach(), correct.to(loss.dtype), targets.shape[0]))
        state.batch += 1
        if len(pending) >= sync_every or state.warmup.active:
            flush()
        if on_batch is not None:
            on_batch(state.epoch + 1, state.batch, steps)
        due = checkpoint_interval_s is not None and (
            time.monotonic() - state.last_checkpoint >= checkpoint_interval_s
        )
        if checkpoint is not None and due and state.batch < steps:
            flush()
            account_time()
            checkpoint()
            now = time.perf_counter()
            state.stats.seconds += now - started  # wall time, though not training time
            started = now
    flush()
    account_time()
    return True
