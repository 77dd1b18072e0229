from __future__ import annotations

import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cifar_layout import present
from core.trainer import data as data_module
from core.trainer.data import load_cifar
from core.trainer.errors import DatasetNotFoundError
from testkit.cifar_files import CIFAR10_CLASSES, CIFAR100_CLASSES, write_cifar10


def _raw(path: Path) -> dict[bytes, object]:
    with path.open("rb") as f:
        return pickle.load(f, encoding="bytes")


def test_load_cifar10_reads_generated_files(cifar10_dir: Path) -> None:
    data = load_cifar(cifar10_dir, "cifar10")
    assert data.train_images.shape == (500, 3, 32, 32)
    assert data.test_images.shape == (200, 3, 32, 32)
    assert data.train_images.dtype == torch.uint8
    assert data.train_labels.dtype == torch.int64
    assert data.classes == CIFAR10_CLASSES
    assert torch.bincount(data.train_labels).tolist() == [50] * 10
    # Row layout: 1024 red, 1024 green, 1024 blue values -> image [c, y, x].
    first = _raw(cifar10_dir / "cifar-10-batches-py" / "data_batch_1")
    row = np.asarray(first[b"data"])[0]
    assert data.train_images[0, 1, 2, 3].item() == row[1024 + 2 * 32 + 3]
    assert data.train_labels[0].item() == first[b"labels"][0]  # type: ignore[index]


def test_load_cifar100_reads_fine_labels(cifar100_dir: Path) -> None:
    data = load_cifar(cifar100_dir, "cifar100")
    assert data.train_images.shape == (500, 3, 32, 32)
    assert data.num_classes == 100
    assert data.classes == CIFAR100_CLASSES
    raw = _raw(cifar100_dir / "cifar-100-python" / "test")
    assert data.test_labels.tolist() == raw[b"fine_labels"]


def test_generated_files_match_the_original_format(cifar10_dir: Path) -> None:
    folder = cifar10_dir / "cifar-10-batches-py"
    assert (folder / "data_batch_1").read_bytes()[:2] == b"\x80\x02"  # pickle protocol 2
    batch = _raw(folder / "data_batch_1")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape[1] == 3072  # type: ignore[attr-defined]
    assert _raw(folder / "batches.meta")[b"label_names"][0] == b"airplane"  # type: ignore[index]


def test_load_cifar_missing_names_directory_and_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar(tmp_path / "nowhere", "cifar100")
    message = str(caught.value)
    assert str((tmp_path / "nowhere").resolve()) in message
    for name in ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"):
        assert name in message
    assert isinstance(caught.value, FileNotFoundError)


def test_load_cifar_one_missing_batch_is_named(tmp_path: Path, cifar10_dir: Path) -> None:
    shutil.copytree(cifar10_dir, tmp_path, dirs_exist_ok=True)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(DatasetNotFoundError, match="missing cifar-10-batches-py/data_batch_3"):
        load_cifar(tmp_path, "cifar10")


def test_load_cifar_download_uses_torchvision_with_md5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, str | None]] = []

    def fake_download(url: str, download_root: str, md5: str | None = None) -> None:
        calls.append((url, download_root, md5))
        write_cifar10(download_root, train_per_class=2, test_per_class=1)

    monkeypatch.setattr(data_module.tv_utils, "download_and_extract_archive", fake_download)
    data = load_cifar(tmp_path, "cifar10", download=True)
    assert data.train_images.shape[0] == 20
    assert calls == [
        (
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            str(tmp_path),
            "c58f30108f718f92721af3b95e74349a",
        )
    ]


def test_load_cifar_download_failure_raises_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, download_root: str, md5: str | None = None) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(data_module.tv_utils, "download_and_extract_archive", offline)
    with pytest.raises(DatasetNotFoundError, match="network unreachable"):
        load_cifar(tmp_path, "cifar100", download=True)


def test_load_cifar_existing_files_never_download(
    cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("download attempted")

    monkeypatch.setattr(data_module.tv_utils, "download_and_extract_archive", forbidden)
    assert load_cifar(cifar10_dir, "cifar10", download=True).train_images.shape[0] == 500


class _Planted:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.getcwd, ())  # harmless stand-in for code a planted file could run


def test_load_cifar_pickle_with_code_is_rejected(tmp_path: Path, cifar10_dir: Path) -> None:
    shutil.copytree(cifar10_dir, tmp_path, dirs_exist_ok=True)
    with (tmp_path / "cifar-10-batches-py" / "test_batch").open("wb") as f:
        pickle.dump({b"data": _Planted(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match="unexpected object"):
        load_cifar(tmp_path, "cifar10")


def test_load_cifar_wrong_shape_raises_value_error(tmp_path: Path, cifar10_dir: Path) -> None:
    shutil.copytree(cifar10_dir, tmp_path, dirs_exist_ok=True)
    with (tmp_path / "cifar-10-batches-py" / "test_batch").open("wb") as f:
        pickle.dump({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, f, protocol=2)
    with pytest.raises(ValueError, match="uint8 N x 3072"):
        load_cifar(tmp_path, "cifar10")


def test_load_cifar_unknown_dataset_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cifar10, cifar100"):
        load_cifar(tmp_path, "mnist")


def test_present_accepts_the_folder_or_the_published_archive(
    tmp_path: Path, cifar10_dir: Path
) -> None:
    assert present(cifar10_dir, "cifar10")
    assert not present(cifar10_dir, "cifar100")
    assert not present(tmp_path, "cifar10")
    (tmp_path / "cifar-100-python.tar.gz").write_bytes(b"")
    assert present(tmp_path, "cifar100")


def test_load_cifar_refuses_an_archive_that_is_not_the_published_one(
    tmp_path: Path, cifar10_dir: Path
) -> None:
    # Nothing is downloaded: the archive found is checked (md5) and refused, naming it.
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as archive:
        archive.add(cifar10_dir / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with pytest.raises(DatasetNotFoundError, match=r"python\.tar\.gz is not the published"):
        load_cifar(tmp_path, "cifar10")
