"""The trainer: CIFAR ResNets of He et al. 2016 (section 4.2), data, training loop, CLI support.

Imports only torch, torchvision, numpy, the standard library and the torch-free declaration of
its configuration (`core.spec.TrainConfig`). Import the submodules directly (`core.trainer.fit`,
`core.trainer.models`, ...): this file imports nothing, so no importer loads more than it names.

fit(config, on_epoch=..., should_stop=..., resume_from=..., on_checkpoint=...,
checkpoint_interval_s=...) trains a network; on_epoch gets EpochMetrics after each epoch;
should_stop is polled before every batch and, when it returns True, fit checkpoints and returns
a FitResult with stopped=True; on_checkpoint receives a full Checkpoint after every epoch
(after on_epoch), every checkpoint_interval_s seconds mid-epoch, and when stopped; resume_from
continues from such a checkpoint and ends, on the CPU, with bitwise the same weights as a run
never stopped.
"""
