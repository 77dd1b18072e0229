"""CIFAR-10/100 from the python-pickle layout into uint8 NCHW tensors (no md5 check on reading)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import utils as tv_utils

from core.cifar_layout import CifarLayout, archive_name, expected_files, layout_of, missing
from core.trainer.cifar_pickle import read_pickle
from core.trainer.errors import DatasetNotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CifarData:
    """Images as uint8 N x 3 x 32 x 32 (NCHW), labels as int64 N, on the CPU."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    content = read_pickle(path)
    if b"data" not in content or label_key not in content:
        raise ValueError(f"{path} lacks the keys b'data' and {label_key!r}")
    data = np.asarray(content[b"data"])
    labels = np.asarray(content[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: b'data' must be uint8 N x 3072, got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {data.shape[0]} images but {labels.size} labels")
    return data, labels


def _to_tensor(data: np.ndarray) -> torch.Tensor:
    # Each row is 1024 red, then 1024 green, then 1024 blue values, row-major: NCHW as is.
    return torch.from_numpy(np.ascontiguousarray(data).reshape(-1, 3, 32, 32))


def _extract_archive(root: Path, layout: CifarLayout, dataset: str) -> None:
    # An archive copied in by hand is used as is, even with download off; its md5 is checked
    # as a downloaded one's would be.
    archive = root / archive_name(dataset)
    if not tv_utils.check_integrity(str(archive), layout.md5):
        raise DatasetNotFoundError(f"{archive} is not the published archive (md5 differs)")
    log.info("extracting %s", archive)
    tv_utils.extract_archive(str(archive), str(root))


def _download(root: Path, layout: CifarLayout) -> None:
    log.info("downloading %s to %s", layout.url, root)
    try:
        tv_utils.download_and_extract_archive(layout.url, download_root=str(root), md5=layout.md5)
    except (OSError, RuntimeError) as error:  # URLError is an OSError; md5 mismatch a RuntimeError
        message = f"could not download {layout.url} into {root}: {error}"
        raise DatasetNotFoundError(message) from error


# Datasets read ahead of a job by a spare training process
# (worker.training_process.train_child --spare), by (resolved folder, dataset). A training
# process serves one job, so no job sees another's data.
_preloaded: dict[tuple[str, str], CifarData] = {}


def preload(data_dir: str | Path, dataset: str) -> bool:
    """Read the dataset into memory for a later `load_cifar` of this process; whether its files
    were there (nothing is downloaded ahead of a job)."""
    if missing(Path(data_dir), dataset):
        return False
    _preloaded[(str(Path(data_dir).resolve()), dataset)] = load_cifar(data_dir, dataset)
    return True


def load_canonical(path: str | Path) -> CifarData:
    """An uploaded data set's canonical file (core/datasets/canonical.py: uint8 x_train, x_test
    N x 3 x 32 x 32, int64 y_train, y_test, class_names), read without pickles."""
    try:
        with np.load(path, allow_pickle=False) as content:
            arrays = {k: content[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            classes = [str(name) for name in content["class_names"]]
    except (OSError, KeyError) as error:
        raise DatasetNotFoundError(f"no readable data set file at {path}: {error}") from error
    return CifarData(
        train_images=torch.from_numpy(arrays["x_train"]),
        train_labels=torch.from_numpy(arrays["y_train"].astype(np.int64)),
        test_images=torch.from_numpy(arrays["x_test"]),
        test_labels=torch.from_numpy(arrays["y_test"].astype(np.int64)),
        classes=classes,
    )


def load_cifar(
    data_dir: str | Path,
    dataset: str = "cifar10",
    download: bool = False,
    canonical: str | Path | None = None,
) -> CifarData:
    """Read CIFAR-10 ("cifar10") or CIFAR-100 ("cifar100", fine labels) from data_dir, or an
    uploaded data set from its `canonical` file (issue 19).

    The files are read from the extracted folder; a published archive in data_dir is extracted
    first. Missing files are downloaded (md5-checked archive) when download is True; otherwise,
    or when the download fails, DatasetNotFoundError names the directory and the files expected.
    """
    if canonical is not None:
        return load_canonical(canonical)
    preloaded = _preloaded.get((str(Path(data_dir).resolve()), dataset))
    if preloaded is not None:
        return preloaded
    layout = layout_of(dataset)
    root = Path(data_dir)
    if missing(root, dataset) and (root / archive_name(dataset)).is_file():
        _extract_archive(root, layout, dataset)
    if missing(root, dataset) and download:
        root.mkdir(parents=True, exist_ok=True)
        _download(root, layout)
    absent = missing(root, dataset)
    if absent:
        archive = archive_name(dataset)
        hint = "" if download else f" (or the archive {archive}; set download to fetch it)"
        expected = ", ".join(expected_files(dataset))
        raise DatasetNotFoundError(
            f"{dataset} not found in {root.resolve()}: expected {expected}"
            f"; missing {', '.join(absent)}{hint}"
        )
    folder = root / layout.folder
    batches = [_read_batch(folder / name, layout.label_key) for name in layout.train_files]
    test_data, test_labels = _read_batch(folder / layout.test_file, layout.label_key)
    meta = read_pickle(folder / layout.meta_file)
    if layout.names_key not in meta:
        raise ValueError(f"{folder / layout.meta_file} lacks the key {layout.names_key!r}")
    classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout.names_key]]
    train_labels = np.concatenate([labels for _, labels in batches])
    for labels, where in ((train_labels, "training"), (test_labels, "test")):
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(f"{dataset} {where} labels outside 0..{len(classes) - 1}")
    return CifarData(
        train_images=_to_tensor(np.concatenate([data for data, _ in batches])),
        train_labels=torch.from_numpy(train_labels),
        test_images=_to_tensor(test_data),
        test_labels=torch.from_numpy(test_labels.copy()),
        classes=classes,
    )


def channel_statistics(
    images: torch.Tensor, chunk: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 NCHW images scaled to [0, 1] (float64 sums, chunked)."""
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for start in range(0, images.shape[0], chunk):
        part = images[start : start + chunk].to(torch.float64).div_(255.0)
        total += part.sum(dim=(0, 2, 3))
        squares += part.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    # Floor at one grey level, so a constant channel cannot make the network divide by ~0.
    std = (squares / count - mean.square()).clamp_min((1 / 255) ** 2).sqrt()
    return mean.float(), std.float()


GLOBAL_STD_EPSILON = 1e-7  # added to the global std, as the Keras reproduction does


def global_statistics(images: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """One mean and one std over every pixel and channel of uint8 NCHW images scaled to [0, 1]
    (+1e-7 on the std), each repeated for the three channels so that the network's buffers
    keep their per-channel shape."""
    total = torch.zeros((), dtype=torch.float64)
    squares = torch.zeros((), dtype=torch.float64)
    for start in range(0, images.shape[0], chunk):
        part = images[start : start + chunk].to(torch.float64).div_(255.0)
        total += part.sum()
        squares += part.square().sum()
    count = max(images.numel(), 1)
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0.0).sqrt() + GLOBAL_STD_EPSILON
    return mean.float().repeat(3), std.float().repeat(3)


def normalization_statistics(
    images: torch.Tensor, normalization: str = "per_channel"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and std (3 values each) the network normalises with: "per_channel" or "global"."""
    if normalization == "global":
        return global_statistics(images)
    if normalization == "per_channel":
        return channel_statistics(images)
    raise ValueError(f"normalization must be 'per_channel' or 'global', got {normalization!r}")
