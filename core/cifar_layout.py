"""Where CIFAR-10 and CIFAR-100 lie under a data folder: the published python-pickle archives
and the folders they extract to. Standard library only, so that a process without torch (the
Celery worker, `make run`) can say which data sets a folder holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


def expected_files(dataset: str) -> list[str]:
    layout = layout_of(dataset)
    names = [*layout.train_files, layout.test_file, layout.meta_file]
    return [f"{layout.folder}/{name}" for name in names]


def layout_of(dataset: str) -> CifarLayout:
    if dataset not in LAYOUTS:
        raise ValueError(f"dataset must be one of {', '.join(LAYOUTS)}, got {dataset!r}")
    return LAYOUTS[dataset]


def missing(root: Path, dataset: str) -> list[str]:
    return [name for name in expected_files(dataset) if not (root / name).is_file()]


def archive_name(dataset: str) -> str:
    """The published archive's file name (cifar-10-python.tar.gz, cifar-100-python.tar.gz)."""
    return layout_of(dataset).url.rsplit("/", 1)[-1]


def present(data_dir: str | Path, dataset: str) -> bool:
    """Whether data_dir holds the dataset, extracted or as its published archive."""
    root = Path(data_dir)
    return not missing(root, dataset) or (root / archive_name(dataset)).is_file()
