"""sha256 of the dataset files a job reads (torch-free), cached per path and mtime."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The file's sha256; rehashed only when its size or modification time changed."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        _CACHE[key] = digest.hexdigest()
    return _CACHE[key]


def dataset_fingerprint(root: Path, names: list[str]) -> dict[str, str]:
    """{relative name: sha256} of each of `names` under `root` that exists."""
    return {name: file_sha256(root / name) for name in names if (root / name).is_file()}
