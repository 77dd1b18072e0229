"""An upload, whatever its format, to the checked canonical form: the one entry point."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

from core.datasets import cifar, image_folder, npz
from core.datasets.archive import Member, ignored, members
from core.datasets.canonical import Canonical, check
from core.datasets.errors import DatasetRejected
from core.datasets.limits import Limits


def process_upload(
    path: str | Path,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    limits: Limits | None = None,
    progress: Callable[[float], None] | None = None,
) -> Canonical:
    """Read and check the upload at `path`; DatasetRejected names the member or field at fault.

    The format comes from the content: a zip of `.npy` arrays is an `.npz`; an archive whose
    first file is in `cifar-10-batches-py/` or `cifar-100-python/` is a published CIFAR
    archive; any other archive an image folder.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise DatasetRejected("test_fraction", f"must be in [0, 1), got {test_fraction}")
    limits = limits or Limits()
    stream = members(Path(path), limits, progress)
    first, stream = _peek(stream)
    if first is None:
        raise DatasetRejected("archive", "an empty archive: no files in it")
    layout = cifar.layout_of(first.name)
    if layout is not None:
        data = cifar.read(stream, layout)
    elif first.name.endswith(".npy"):
        data = npz.read(stream)
    else:
        data = image_folder.read(stream, limits, test_fraction, seed)
    total = data.y_train.size + data.y_test.size
    if total > limits.max_images:
        raise DatasetRejected("archive", f"{total} images, over the {limits.max_images} allowed")
    check(data)
    if progress:
        progress(1.0)
    return data


def _peek(stream: Iterator[Member]) -> tuple[Member | None, Iterator[Member]]:
    """The first file (not folder, not ignored) and the whole stream, nothing consumed twice."""
    seen: list[Member] = []
    for member in stream:
        seen.append(member)
        if not member.name.endswith("/") and not ignored(member.name):
            return member, itertools.chain(seen, stream)
    return None, iter(seen)
