"""CIFAR-10/100 from the python-pickle layout into uint8 NCHW tensors (no md5 check on reading)."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.datasets import utils as tv_utils

from core.trainer.errors import DatasetNotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CifarLayout:
    folder: str  # directory the official archive extracts to
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: bytes  # per-image labels in each batch
    names_key: bytes  # class names in the meta file
    url: str
    md5: str  # of the archive, checked by the download step only


LAYOUTS = {
    "cifar10": CifarLayout(
        folder="cifar-10-batches-py",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_file="test_batch",
        meta_file="batches.meta",
        label_key=b"labels",
        names_key=b"label_names",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
    ),
    "cifar100": CifarLayout(
        folder="cifar-100-python",
        train_files=("train",),
        test_file="test",
        meta_file="meta",
        label_key=b"fine_labels",
        names_key=b"fine_label_names",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
    ),
}


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


# The official files hold numpy arrays, lists, ints and strings; nothing else may be built, so a
# planted file cannot run code (pickle.load alone would run anything).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # numpy arrays pickled by Python 3 at protocol 2
}


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR file")
        if module == "numpy.core.multiarray":  # the name numpy 2 keeps only as a deprecated alias
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as f:
            # bytes: the originals are Python 2 pickles whose keys and names are byte strings.
            content = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a CIFAR python-pickle file: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} is not a CIFAR python-pickle file: expected a dict")
    # Accept str keys as well, for files written by Python 3 tools.
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    content = _read_pickle(path)
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


def expected_files(dataset: str) -> list[str]:
    layout = _layout(dataset)
    names = [*layout.train_files, layout.test_file, layout.meta_file]
    return [f"{layout.folder}/{name}" for name in names]


def _layout(dataset: str) -> CifarLayout:
    if dataset not in LAYOUTS:
        raise ValueError(f"dataset must be one of {', '.join(LAYOUTS)}, got {dataset!r}")
    return LAYOUTS[dataset]


def _missing(root: Path, dataset: str) -> list[str]:
    return [name for name in expected_files(dataset) if not (root / name).is_file()]


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
    if _missing(Path(data_dir), dataset):
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

    Missing files are downloaded (md5-checked archive) when download is True; otherwise, or when
    the download fails, DatasetNotFoundError names the directory and the files expected.
    """
    if canonical is not None:
        return load_canonical(canonical)
    preloaded = _preloaded.get((str(Path(data_dir).resolve()), dataset))
    if preloaded is not None:
        return preloaded
    layout = _layout(dataset)
    root = Path(data_dir)
    if _missing(root, dataset) and download:
        root.mkdir(parents=True, exist_ok=True)
        _download(root, layout)
    missing = _missing(root, dataset)
    if missing:
        hint = "" if download else " (set download to fetch them)"
        expected = ", ".join(expected_files(dataset))
        raise DatasetNotFoundError(
            f"{dataset} not found in {root.resolve()}: expected {expected}"
            f"; missing {', '.join(missing)}{hint}"
        )
    folder = root / layout.folder
    batches = [_read_batch(folder / name, layout.label_key) for name in layout.train_files]
    test_data, test_labels = _read_batch(folder / layout.test_file, layout.label_key)
    meta = _read_pickle(folder / layout.meta_file)
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
