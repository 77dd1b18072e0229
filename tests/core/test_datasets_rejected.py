"""Every bad upload of issue 19 refused by core.datasets with the member or field at fault."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.datasets.errors import DatasetRejected
from core.datasets.limits import Limits
from core.datasets.process import process_upload
from testkit.dataset_files import (
    cifar_archive,
    image_bytes,
    image_folder_files,
    npz_arrays,
    write_archive,
)

CLASSES = ["cat", "dog", "eel"]


def refused(path: Path, **options: object) -> DatasetRejected:
    with pytest.raises(DatasetRejected) as caught:
        process_upload(path, **options)  # type: ignore[arg-type]
    return caught.value


def tar_with(path: Path, add: tarfile.TarInfo, data: bytes = b"") -> Path:
    files = image_folder_files(CLASSES, per_class=2)
    with tarfile.open(path, "w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        archive.addfile(add, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "train/../../evil.png"])
def test_process_refuses_paths_outside_the_root(tmp_path: Path, name: str) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), name: image_bytes(0)}
    for kind in ("zip", "tar"):
        error = refused(write_archive(tmp_path / f"a.{kind}", files, kind))
        assert error.where == name and "inside the archive" in error.reason


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_process_refuses_links_and_devices_in_a_tar(tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("train/cat/link.png")
    info.type = kind
    info.linkname = "/etc/passwd"
    error = refused(tar_with(tmp_path / "l.tar", info))
    assert error.where == "train/cat/link.png"


def test_process_refuses_a_symlink_in_a_zip(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=2))
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("train/cat/link.png")
        info.external_attr = (0o120777) << 16  # S_IFLNK
        archive.writestr(info, "/etc/passwd")
    assert refused(path).where == "train/cat/link.png"


def test_process_refuses_a_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train/cat/zeros.png", b"\x00" * (40 << 20))
    error = refused(path)
    assert error.where == "train/cat/zeros.png" and "bomb" in error.reason


def test_process_refuses_a_gzip_bomb_by_ratio_as_it_reads(tmp_path: Path) -> None:
    info = tarfile.TarInfo("train/cat/zeros.png")
    info.size = 40 << 20
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(info, io.BytesIO(b"\x00" * info.size))
    assert "bomb" in refused(path).reason


def test_process_refuses_too_many_members(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=4))
    error = refused(path, limits=Limits(max_members=5))
    assert "more than 5 members" in error.reason


def test_process_refuses_a_member_over_the_size_limit(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.tar", image_folder_files(CLASSES, per_class=2), "tar")
    error = refused(path, limits=Limits(max_member_bytes=100))
    assert error.where.startswith("train/") and "over the 100" in error.reason


def test_process_refuses_a_decompression_bomb_image(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buffer, format="PNG")  # tiny file, 25 megapixels
    files = {**image_folder_files(CLASSES, per_class=2), "train/dog/bomb.png": buffer.getvalue()}
    error = refused(write_archive(tmp_path / "a.zip", files))
    assert error.where == "train/dog/bomb.png" and "5000x5000" in error.reason


@pytest.mark.parametrize(
    ("name", "data"),
    [("train/cat/notes.png", b"just text"), ("train/cat/anim.gif", b"GIF89a" + b"\x00" * 20)],
)
def test_process_refuses_files_that_are_not_images(tmp_path: Path, name: str, data: bytes) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), name: data}
    error = refused(write_archive(tmp_path / "a.zip", files))
    assert error.where == name and "not a PNG, JPEG or WebP" in error.reason


def test_process_refuses_a_truncated_image(tmp_path: Path) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "train/cat/cut.png": image_bytes(0)[:60]}
    assert refused(write_archive(tmp_path / "a.zip", files)).where == "train/cat/cut.png"


def test_process_refuses_a_class_folder_with_no_images(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=2))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("train/empty/", b"")
    error = refused(path)
    assert error.where == "train/empty/" and "no images" in error.reason


def test_process_refuses_one_class_only(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.zip", image_folder_files(["cat"], per_class=4))
    error = refused(path)
    assert error.where == "train/" and "one class only (cat)" in error.reason


def test_process_refuses_a_test_class_without_training_images(tmp_path: Path) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "test/fox/0.png": image_bytes(1)}
    assert refused(write_archive(tmp_path / "a.zip", files)).where == "test/fox/"


def test_process_refuses_images_outside_the_layout(tmp_path: Path) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "train/cat/deep/0.png": image_bytes(1)}
    assert refused(write_archive(tmp_path / "a.zip", files)).where == "train/cat/deep/0.png"


def test_process_refuses_a_fraction_that_leaves_no_test_images(tmp_path: Path) -> None:
    files = image_folder_files(CLASSES, per_class=2, with_test=False)
    error = refused(write_archive(tmp_path / "a.zip", files), test_fraction=0.1)
    assert error.where == "test_fraction"


def test_process_refuses_an_archive_that_ends_early(tmp_path: Path) -> None:
    whole = cifar_archive(tmp_path / "c.tar.gz", train_per_class=10, test_per_class=5)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    error = refused(cut)
    assert "ends early" in error.reason and error.where.startswith("cifar-10-batches-py/")


def test_process_refuses_a_zip_cut_short(tmp_path: Path) -> None:
    whole = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=2))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[:-200])
    assert refused(cut).where == "archive"


def test_process_refuses_a_file_of_no_known_format(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"hello world" * 100)
    assert refused(path).where == "file"


def test_process_refuses_a_cifar_archive_missing_a_batch(tmp_path: Path) -> None:
    whole = cifar_archive(tmp_path / "c.tar.gz", train_per_class=2, test_per_class=1)
    path = tmp_path / "part.tar.gz"
    with tarfile.open(whole) as source, tarfile.open(path, "w:gz") as target:
        for info in source:
            if not info.name.endswith("data_batch_3"):
                target.addfile(info, source.extractfile(info) if info.isfile() else None)
    error = refused(path)
    assert error.where == "cifar-10-batches-py/data_batch_3" and "missing" in error.reason


def _cifar_with(tmp_path: Path, name: str, content: object) -> Path:
    whole = cifar_archive(tmp_path / "c.tar.gz", train_per_class=2, test_per_class=1)
    path = tmp_path / "changed.tar.gz"
    data = pickle.dumps(content, protocol=2)
    with tarfile.open(whole) as source, tarfile.open(path, "w:gz") as target:
        for info in source:
            if info.name.endswith("/" + name):
                info.size = len(data)
                target.addfile(info, io.BytesIO(data))
            else:
                target.addfile(info, source.extractfile(info) if info.isfile() else None)
    return path


def test_process_refuses_a_cifar_pickle_that_would_run_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("ran",))

    error = refused(_cifar_with(tmp_path, "test_batch", Evil()))
    assert error.where == "cifar-10-batches-py/test_batch" and "not allowed" in error.reason


def test_process_refuses_cifar_labels_out_of_range(tmp_path: Path) -> None:
    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}
    error = refused(_cifar_with(tmp_path, "test_batch", batch))
    assert error.where == "cifar-10-batches-py/test_batch" and "labels outside" in error.reason


def test_process_refuses_cifar_data_of_the_wrong_shape(tmp_path: Path) -> None:
    batch = {b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}
    assert "uint8 N x 3072" in refused(_cifar_with(tmp_path, "data_batch_2", batch)).reason


def _npz(tmp_path: Path, **changes: np.ndarray) -> Path:
    arrays = {**npz_arrays(3, 8), **changes}
    path = tmp_path / "a.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("x_train", np.zeros((24, 32, 32, 3), np.float32)),
        ("x_test", np.zeros((6, 28, 28, 3), np.uint8)),
        ("y_train", np.zeros(23, np.int64)),
        ("y_test", np.zeros(6, np.float32)),
    ],
)
def test_process_refuses_npz_arrays_of_wrong_shape_or_dtype(
    tmp_path: Path, field: str, value: np.ndarray
) -> None:
    assert refused(_npz(tmp_path, **{field: value})).where == field


def test_process_refuses_npz_labels_out_of_range(tmp_path: Path) -> None:
    labels = np.zeros(6, np.int64)
    labels[0] = 7
    names = np.array(["a", "b", "c"])
    error = refused(_npz(tmp_path, y_test=labels, class_names=names))
    assert error.where == "y_test" and "out of range" in error.reason


def test_process_refuses_npz_negative_labels(tmp_path: Path) -> None:
    assert refused(_npz(tmp_path, y_train=np.full(24, -1, np.int64))).where == "y_train"


def test_process_refuses_an_npz_missing_an_array(tmp_path: Path) -> None:
    arrays = npz_arrays(3, 8)
    del arrays["y_test"]
    np.savez(tmp_path / "a.npz", **arrays)  # type: ignore[arg-type]
    assert refused(tmp_path / "a.npz").where == "y_test"


def test_process_refuses_npz_objects(tmp_path: Path) -> None:
    names = np.array([{"x": 1}, 2, 3], dtype=object)
    arrays = {**npz_arrays(3, 8), "class_names": names}
    np.savez(tmp_path / "a.npz", **arrays)  # type: ignore[arg-type]
    assert refused(tmp_path / "a.npz").where == "class_names"


def test_process_refuses_an_npy_header_larger_than_its_data(tmp_path: Path) -> None:
    arrays = npz_arrays(3, 8)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 32, 32, 3)}
    )
    path = tmp_path / "a.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if k != "x_train"})  # type: ignore[arg-type]
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("x_train.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00")
    error = refused(path)
    assert error.where == "x_train" and "declares shape" in error.reason


def test_process_refuses_a_bad_test_fraction(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=2))
    assert refused(path, test_fraction=1.5).where == "test_fraction"
