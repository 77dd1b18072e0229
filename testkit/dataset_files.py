"""Uploadable data set files in each accepted format, made from the learnable images of
testkit.cifar_files (numpy, Pillow and the standard library only):

    cifar_archive(path, dataset="cifar10", **sizes) -> Path   the published .tar.gz layout
    image_folder_archive(path, classes, per_class=..., with_test=..., kind="zip"|"tar"|"tar.gz")
    npz_file(path, classes=3, per_class=..., class_names=True)
    image_bytes(label, fmt="PNG", size=(32, 32))               one encoded image

Tests that need a malformed file build on these (a member added, a file cut short).
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from testkit.cifar_files import make_images, write_cifar10, write_cifar100


def image_bytes(
    label: int, fmt: str = "PNG", size: tuple[int, int] = (32, 32), seed: int = 0
) -> bytes:
    """A learnable image of class `label`, encoded; resized when `size` is not 32 x 32."""
    rng = np.random.default_rng(seed)
    chw = make_images(np.array([label]), rng).reshape(3, 32, 32)
    image = Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)))
    if size != (32, 32):
        image = image.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def cifar_archive(path: Path, dataset: str = "cifar10", **sizes: int) -> Path:
    """`cifar-10-python.tar.gz` or `cifar-100-python.tar.gz` as published (with readme.html)."""
    with tempfile.TemporaryDirectory() as root:
        write = write_cifar10 if dataset == "cifar10" else write_cifar100
        folder = write(root, **sizes)
        (folder / "readme.html").write_text("<html>CIFAR</html>")
        with tarfile.open(path, "w:gz") as archive:
            archive.add(folder, arcname=folder.name)
    return path


def image_folder_files(
    classes: list[str], per_class: int = 6, with_test: bool = True, fmt: str = "PNG"
) -> dict[str, bytes]:
    """{member name: bytes} of an image folder (train/<class>/..., test/<class>/...)."""
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
    files: dict[str, bytes] = {}
    for label, name in enumerate(classes):
        for i in range(per_class):
            files[f"train/{name}/{i:03d}.{ext}"] = image_bytes(label, fmt, seed=label * 1000 + i)
        if with_test:
            for i in range(max(per_class // 3, 1)):
                files[f"test/{name}/{i:03d}.{ext}"] = image_bytes(
                    label, fmt, seed=500 + label * 1000 + i
                )
    return files


def write_archive(path: Path, files: dict[str, bytes], kind: str = "zip") -> Path:
    """The files as a .zip, .tar or .tar.gz (`kind`), in the given order."""
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return path
    with tarfile.open(path, "w:gz" if kind == "tar.gz" else "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def image_folder_archive(
    path: Path,
    classes: list[str],
    *,
    per_class: int = 6,
    with_test: bool = True,
    kind: str = "zip",
    fmt: str = "PNG",
) -> Path:
    return write_archive(path, image_folder_files(classes, per_class, with_test, fmt), kind)


def npz_arrays(classes: int = 3, per_class: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test as Keras keeps them (NHWC uint8, labels N x 1)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for part, count in (("train", per_class), ("test", max(per_class // 4, 1))):
        labels = np.repeat(np.arange(classes), count)
        images = make_images(labels, rng).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        arrays[f"x_{part}"] = np.ascontiguousarray(images)
        arrays[f"y_{part}"] = labels.astype(np.uint8).reshape(-1, 1)
    return arrays


def npz_file(path: Path, classes: int = 3, per_class: int = 8, class_names: bool = True) -> Path:
    arrays = npz_arrays(classes, per_class)
    if class_names:
        arrays["class_names"] = np.array([f"class_{i}" for i in range(classes)])
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path
