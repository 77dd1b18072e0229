"""Errors the trainer raises on purpose; callers (CLI, worker) turn them into clear messages."""

from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """The CIFAR files are missing and could not be downloaded."""


class IncompatibleWeightsError(ValueError):
    """A weights file is unreadable, not a state_dict, or does not fit the requested network."""


class TrainingDivergedError(RuntimeError):
    """A batch loss became NaN, infinite or absurdly large."""
