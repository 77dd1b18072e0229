"""Each accepted upload format to the canonical form (issue 19), from real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets.canonical import Canonical, fingerprint, load, save
from core.datasets.process import process_upload
from core.datasets.samples import sample_images
from testkit.cifar_files import CIFAR10_CLASSES, CIFAR100_CLASSES
from testkit.dataset_files import (
    cifar_archive,
    image_bytes,
    image_folder_archive,
    image_folder_files,
    npz_arrays,
    npz_file,
    write_archive,
)

CLASSES = ["cat", "dog", "eel"]


def test_process_reads_the_cifar10_archive_as_published(tmp_path: Path) -> None:
    path = cifar_archive(tmp_path / "cifar-10-python.tar.gz", train_per_class=4, test_per_class=2)
    data = process_upload(path)
    assert data.class_names == CIFAR10_CLASSES
    assert data.x_train.shape == (40, 3, 32, 32) and data.x_test.shape == (20, 3, 32, 32)
    assert data.class_counts()["train"] == [4] * 10
    assert data.info["format"] == "cifar-10-batches-py"


def test_process_reads_the_cifar100_archive_with_fine_labels(tmp_path: Path) -> None:
    path = cifar_archive(tmp_path / "c.tar.gz", "cifar100", train_per_class=2, test_per_class=1)
    data = process_upload(path)
    assert data.class_names == CIFAR100_CLASSES
    assert data.class_counts()["train"] == [2] * 100
    assert data.class_counts()["test"] == [1] * 100


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_process_gives_one_fingerprint_for_one_image_folder_in_any_archive(
    tmp_path: Path, kind: str
) -> None:
    files = image_folder_files(CLASSES, per_class=5)
    reference = process_upload(write_archive(tmp_path / "ref.zip", files))
    # The same files in reverse order and another container: the same data set.
    shuffled = dict(reversed(list(files.items())))
    data = process_upload(write_archive(tmp_path / f"a.{kind}", shuffled, kind))
    assert data.class_names == CLASSES
    assert data.class_counts() == {"train": [5, 5, 5], "test": [1, 1, 1]}
    assert fingerprint(data) == fingerprint(reference)


def test_process_keeps_the_pixels_of_32x32_png_and_webp(tmp_path: Path) -> None:
    png = process_upload(image_folder_archive(tmp_path / "p.zip", CLASSES, per_class=2))
    webp = image_folder_files(CLASSES, per_class=2, fmt="WEBP")
    lossless = {name: data for name, data in webp.items()}
    data = process_upload(write_archive(tmp_path / "w.zip", lossless))
    assert data.class_names == CLASSES
    assert np.abs(data.x_train.astype(int) - png.x_train.astype(int)).mean() < 40  # lossy WebP


def test_process_resizes_other_sizes_and_records_them(tmp_path: Path) -> None:
    files = image_folder_files(CLASSES, per_class=2)
    files["train/cat/big.jpg"] = image_bytes(0, "JPEG", size=(96, 64))
    data = process_upload(write_archive(tmp_path / "r.zip", files))
    assert data.x_train.shape == (7, 3, 32, 32)
    assert data.info["original_sizes"]["96x64"] == 1
    assert data.info["resized_images"] == 1
    assert "bicubic" in data.info["resize"]


def test_process_splits_a_train_only_folder_by_the_seeded_fraction(tmp_path: Path) -> None:
    path = image_folder_archive(tmp_path / "t.zip", CLASSES, per_class=10, with_test=False)
    first = process_upload(path, test_fraction=0.3, seed=4)
    assert first.class_counts() == {"train": [7, 7, 7], "test": [3, 3, 3]}
    assert fingerprint(first) == fingerprint(process_upload(path, test_fraction=0.3, seed=4))
    assert fingerprint(first) != fingerprint(process_upload(path, test_fraction=0.3, seed=5))


def test_process_accepts_one_top_folder_and_skips_macos_files(tmp_path: Path) -> None:
    files = {f"mine/{k}": v for k, v in image_folder_files(CLASSES, per_class=2).items()}
    files["__MACOSX/mine/._x"] = b"\x00junk"
    files["mine/train/cat/.DS_Store"] = b"junk"
    data = process_upload(write_archive(tmp_path / "m.zip", files))
    assert data.class_counts()["train"] == [2, 2, 2]


def test_process_reads_npz_in_keras_layout(tmp_path: Path) -> None:
    data = process_upload(npz_file(tmp_path / "a.npz", classes=4, per_class=8))
    arrays = npz_arrays(4, 8)
    assert data.class_names == ["class_0", "class_1", "class_2", "class_3"]
    assert np.array_equal(data.x_train, arrays["x_train"].transpose(0, 3, 1, 2))
    assert data.y_train.dtype == np.int64 and data.y_train.shape == (32,)


def test_process_names_npz_classes_by_number_without_class_names(tmp_path: Path) -> None:
    data = process_upload(npz_file(tmp_path / "a.npz", classes=3, class_names=False))
    assert data.class_names == ["0", "1", "2"]


def test_canonical_file_round_trips_with_its_fingerprint(tmp_path: Path) -> None:
    data = process_upload(image_folder_archive(tmp_path / "a.zip", CLASSES, per_class=3))
    save(data, tmp_path / "c.npz")
    again = load(tmp_path / "c.npz")
    assert isinstance(again, Canonical)
    assert again.class_names == CLASSES
    assert fingerprint(again) == fingerprint(data)


def test_fingerprint_changes_with_one_label(tmp_path: Path) -> None:
    data = process_upload(npz_file(tmp_path / "a.npz"))
    labels = data.y_train.copy()
    labels[0] = (labels[0] + 1) % 3
    changed = Canonical(data.x_train, labels, data.x_test, data.y_test, data.class_names)
    assert fingerprint(changed) != fingerprint(data)


def test_sample_images_are_pngs_of_each_class(tmp_path: Path) -> None:
    data = process_upload(image_folder_archive(tmp_path / "a.zip", CLASSES, per_class=6))
    samples = sample_images(data, per_class=2)
    assert list(samples) == CLASSES
    assert all(len(images) == 2 for images in samples.values())
    import base64

    assert base64.b64decode(samples["dog"][0]).startswith(b"\x89PNG")


def test_process_reports_progress_up_to_one(tmp_path: Path) -> None:
    path = cifar_archive(tmp_path / "c.tar.gz", train_per_class=20, test_per_class=5)
    seen: list[float] = []
    process_upload(path, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
