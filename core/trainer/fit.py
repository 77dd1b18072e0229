"""fit: a whole training run, resumable from its checkpoints, with callbacks for a service."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import torch

from core.spec import TrainConfig
from core.trainer.checkpoint import (
    Checkpoint,
    capture_rng,
    check_resumable,
    cpu_optimizer_state,
    cpu_state_dict,
    restore_rng,
)
from core.trainer.compiled import compile_enabled, compile_model
from core.trainer.data import load_cifar, normalization_statistics
from core.trainer.device import choose_precision, grad_scaler, resolve_device
from core.trainer.evaluation import Evaluation, evaluate
from core.trainer.layers import configure_batch_norm
from core.trainer.loop import EpochStats, TrainState, train_one_epoch
from core.trainer.models import build_model, set_normalization
from core.trainer.optim import build_optimizer
from core.trainer.results import EpochMetrics, FitResult
from core.trainer.schedule import WarmupState
from core.trainer.validation_split import hold_out
from core.trainer.watchdog import TrainingWarning, judge_epoch
from core.trainer.weights import freeze_base, load_initial_weights, set_train_mode

log = logging.getLogger(__name__)


def fit(
    config: TrainConfig,
    *,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume_from: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    checkpoint_interval_s: float | None = None,
    on_batch: Callable[[int, int, int], None] | None = None,
    on_warning: Callable[[TrainingWarning], None] | None = None,
) -> FitResult:
    """Train as config says; see the package docstring for the callbacks' contract.

    on_batch(epoch, batches_done, batches_per_epoch) is called after every batch (progress bars).
    on_warning gets each kind of TrainingWarning (watchdog.judge_epoch) the first time an
    epoch's record calls for it, just before that epoch's on_epoch; training goes on.
    """
    if checkpoint_interval_s is not None and checkpoint_interval_s <= 0:
        raise ValueError(f"checkpoint_interval_s must be positive, got {checkpoint_interval_s!r}")
    if resume_from is not None:
        check_resumable(resume_from, config.to_dict())
    device = resolve_device(config.device)
    precision = choose_precision(config.precision, device)
    if precision.name != config.precision:
        log.info("precision %s resolved to %s on %s", config.precision, precision.name, device)
    frozen = config.train_mode == "frozen_base"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest kernels once
    torch.manual_seed(config.seed)
    model = build_model(config.architecture, config.depth, config.num_classes, config.shortcut)
    if resume_from is not None:
        model.load_state_dict(resume_from["model"])
    elif config.init_weights:
        load_initial_weights(model, config.init_weights)  # before the data: fail fast
    data = load_cifar(
        config.data_dir, config.dataset, download=config.download, canonical=config.dataset_file
    )
    # The held-out images take no part in training, normalisation statistics included.
    train_images, train_labels, val_images, val_labels = hold_out(
        data.train_images, data.train_labels, config.validation_images, seed=config.validation_seed
    )
    if resume_from is None and not config.init_weights:
        set_normalization(model, *normalization_statistics(train_images, config.normalization))
    # After loading: the config's BN settings hold for this run (eps is saved with the weights).
    configure_batch_norm(model, momentum=config.bn_momentum, eps=config.bn_eps)
    if frozen:
        freeze_base(model)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=memory_format)
    optimizer = build_optimizer(model, config)
    # A compiled wrapper's state_dict would prefix every name with "_orig_mod."; keep `model`.
    compiled = compile_enabled(config.compile, device, config.epochs)
    forward = compile_model(model, device) if compiled else model

    scaler = grad_scaler(precision, device)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[EpochMetrics] = []
    last_eval: Evaluation | None = None
    state = TrainState(
        epoch=0, batch=0, warmup=WarmupState.start(config), epoch_rng=generator.get_state()
    )
    if resume_from is not None:
        optimizer.load_state_dict(resume_from["optimizer"])
        if scaler is not None and resume_from.get("scaler"):
            scaler.load_state_dict(resume_from["scaler"])
        restore_rng(resume_from["rng"], generator)
        state = TrainState(
            epoch=int(resume_from["epoch"]),
            batch=int(resume_from["batch"]),
            warmup=WarmupState.from_state_dict(resume_from["schedule"]["warmup"]),
            epoch_rng=generator.get_state(),
            stats=EpochStats(**resume_from["epoch_stats"]),
        )
        history = [EpochMetrics.from_dict(m) for m in resume_from.get("history", [])]
        if resume_from.get("last_evaluation") is not None:
            last_eval = Evaluation(**resume_from["last_evaluation"])
        log.info("resuming after epoch %d, batch %d", state.epoch, state.batch)
    # A resumed run does not repeat the warnings its restored epochs already gave.
    warned = {w.code for m in history for w in judge_epoch(m, num_classes=config.num_classes)}

    train_images = train_images.to(device)
    train_labels = train_labels.to(device)
    test_images = data.test_images.to(device)
    test_labels = data.test_labels.to(device)
    if val_images is not None and val_labels is not None:
        val_images, val_labels = val_images.to(device), val_labels.to(device)

    def make_checkpoint() -> Checkpoint:
        return {
            "model": cpu_state_dict(model),
            "optimizer": cpu_optimizer_state(optimizer),
            "schedule": {"warmup": state.warmup.state_dict()},
            "epoch": state.epoch,
            "batch": state.batch,
            "rng": capture_rng(state.epoch_rng),
            "epoch_stats": state.stats.as_dict(),
            "history": [m.as_dict() for m in history],
            "last_evaluation": last_eval._asdict() if last_eval else None,
            "config": config.to_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
        }

    def checkpoint() -> None:
        if on_checkpoint is not None:
            on_checkpoint(make_checkpoint())
        state.last_checkpoint = time.monotonic()

    stopped = False
    state.last_checkpoint = time.monotonic()
    while state.epoch < config.epochs:
        set_train_mode(model, frozen_base=frozen)
        completed = train_one_epoch(
            forward,
            optimizer,
            train_images,
            train_labels,
            config=config,
            state=state,
            generator=generator,
            autocast_dtype=precision.dtype,
            scaler=scaler,
            should_stop=should_stop,
            on_batch=on_batch,
            checkpoint=checkpoint if on_checkpoint is not None else None,
            checkpoint_interval_s=checkpoint_interval_s,
        )
        if not completed:
            log.info("stop requested: epoch %d, batch %d", state.epoch + 1, state.batch)
            checkpoint()
            stopped = True
            break
        started = time.perf_counter()
        last_eval = evaluate(
            forward,
            test_images,
            test_labels,
            batch_size=config.eval_batch_size,
            num_classes=config.num_classes,
            precision=config.precision,
            channels_last=config.channels_last,
        )
        validation = None
        if val_images is not None and val_labels is not None:
            validation = evaluate(
                forward,
                val_images,
                val_labels,
                batch_size=config.eval_batch_size,
                num_classes=config.num_classes,
                precision=config.precision,
                channels_last=config.channels_last,
            )
        stats = state.stats
        stats.seconds += time.perf_counter() - started
        metrics = EpochMetrics(
            epoch=state.epoch + 1,
            train_loss=stats.loss_sum / max(stats.seen, 1),
            train_accuracy=stats.correct / max(stats.seen, 1),
            test_loss=last_eval.loss,
            test_accuracy=last_eval.accuracy,
            learning_rate=float(optimizer.param_groups[0]["lr"]),
            seconds=stats.seconds,
            images_per_second=stats.seen / max(stats.train_seconds, 1e-9),
            validation_loss=validation.loss if validation else None,
            validation_accuracy=validation.accuracy if validation else None,
        )
        history.append(metrics)
        log.info(
            "epoch %d/%d: train loss %.4f acc %.4f, test loss %.4f acc %.4f, lr %.4g, %.1f s",
            metrics.epoch,
            config.epochs,
            metrics.train_loss,
            metrics.train_accuracy,
            metrics.test_loss,
            metrics.test_accuracy,
            metrics.learning_rate,
            metrics.seconds,
        )
        state.epoch += 1
        state.batch = 0
        state.stats = EpochStats()
        state.epoch_rng = generator.get_state()  # the next epoch's draws start here
        # The epoch's seconds include taking the checkpoint after it (issue 13); storing it is
        # the caller's, off the training path.
        started = time.perf_counter()
        snapshot = make_checkpoint() if on_checkpoint is not None else None
        metrics = dataclasses.replace(
            metrics, seconds=metrics.seconds + time.perf_counter() - started
        )
        history[-1] = metrics
        if snapshot is not None:
            snapshot["history"][-1] = metrics.as_dict()
        for warning in judge_epoch(metrics, num_classes=config.num_classes):
            if warning.code not in warned:
                warned.add(warning.code)
                log.warning("%s", warning.message)
                if on_warning is not None:
                    on_warning(warning)
        if on_epoch is not None:
            on_epoch(metrics)
        if on_checkpoint is not None and snapshot is not None:
            on_checkpoint(snapshot)
        state.last_checkpoint = time.monotonic()
    result = _result(model, history, last_eval, stopped=stopped, epochs_completed=state.epoch)
    result.precision = precision.name
    result.compiled = compiled
    result.classes = list(data.classes)  # so that no caller reads the dataset again for them
    return result


def _result(
    model: torch.nn.Module,
    history: list[EpochMetrics],
    last_eval: Evaluation | None,
    *,
    stopped: bool,
    epochs_completed: int,
) -> FitResult:
    model.eval()
    best = max(history, key=lambda m: m.test_accuracy, default=None)
    final = history[-1] if history else None
    return FitResult(
        model=model,
        state_dict=cpu_state_dict(model),
        history=history,
        final=final,
        best_test_accuracy=best.test_accuracy if best else None,
        best_epoch=best.epoch if best else None,
        test_loss=final.test_loss if final else None,
        test_accuracy=final.test_accuracy if final else None,
        per_class_accuracy=list(last_eval.per_class_accuracy) if last_eval else [],
        confusion_matrix=[list(row) for row in last_eval.confusion_matrix] if last_eval else [],
        stopped=stopped,
        epochs_completed=epochs_completed,
    )
