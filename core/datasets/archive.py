"""Members of an uploaded tar or zip archive, read safely: no path outside the archive's root, no
links or devices, and the bomb limits (members, bytes, ratio) checked as the bytes come out.

A tar is read as a stream, once, from the start (a gzipped tar cannot seek backwards cheaply);
a zip through its central directory. Either way a member's declared size is checked before its
bytes are read, and the bytes actually read are counted.
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.datasets.errors import DatasetRejected
from core.datasets.limits import Limits

ARCHIVE = "archive"  # what a refusal names when no one member is at fault
# Written by macOS' archiver and Finder beside the real files; never part of a data set.
IGNORED_PREFIXES = ("__MACOSX/",)


@dataclass(frozen=True)
class Member:
    """A regular file of the archive, its normalised path and declared size; `read` once."""

    name: str
    size: int
    read: Callable[[], bytes]


def ignored(name: str) -> bool:
    """Hidden files (`.DS_Store`, `._x.png`) and macOS' resource folders."""
    return name.startswith(IGNORED_PREFIXES) or any(
        part.startswith(".") for part in name.split("/")
    )


def safe_name(raw: str) -> str:
    """The member's path relative to the archive's root, or a refusal naming it."""
    if "\\" in raw or "\x00" in raw:
        raise DatasetRejected(raw, "a member name may not hold a backslash or NUL")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise DatasetRejected(raw, "an absolute path; members must stay inside the archive")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DatasetRejected(raw, "a path with '..'; members must stay inside the archive")
    return posixpath.join(*parts) if parts else ""


class _Counter:
    """Counts members and bytes against the limits."""

    def __init__(self, limits: Limits, compressed_bytes: int) -> None:
        self.limits = limits
        self.compressed = max(compressed_bytes, 1)
        self.members = 0
        self.total = 0

    def member(self, name: str, size: int) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise DatasetRejected(
                name, f"more than {self.limits.max_members} members in the archive"
            )
        if size > self.limits.max_member_bytes:
            raise DatasetRejected(
                name, f"{size} bytes, over the {self.limits.max_member_bytes} one member may hold"
            )

    def data(self, name: str, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise DatasetRejected(
                name,
                f"the archive's members hold over {self.limits.max_total_bytes} bytes together",
            )
        ratio = self.total / self.compressed
        if self.total > self.limits.ratio_floor_bytes and ratio > self.limits.max_ratio:
            raise DatasetRejected(
                name,
                f"the archive expands over {self.limits.max_ratio:g} times its size (an archive "
                "bomb?)",
            )


def _tar_members(file: IO[bytes], limits: Limits, size: int) -> Iterator[Member]:
    counter = _Counter(limits, size)
    where = ARCHIVE
    try:
        # "r|*": a stream of gzip, bz2, xz or no compression, read once from the start.
        with tarfile.open(fileobj=file, mode="r|*") as archive:
            for info in archive:
                where = info.name
                path = safe_name(info.name)
                counter.member(info.name, info.size if info.isfile() else 0)
                if info.isdir():
                    yield Member(name=path + "/", size=0, read=lambda: b"")
                    continue
                if not info.isfile() or info.issparse():
                    kind = "a link" if info.issym() or info.islnk() else "not a regular file"
                    raise DatasetRejected(info.name, f"{kind}; only files and folders are read")
                counter.data(info.name, info.size)
                extracted = archive.extractfile(info)
                assert extracted is not None  # a regular file always has data
                yield Member(name=path, size=info.size, read=_guarded(info.name, extracted.read))
    except DatasetRejected:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DatasetRejected(
            where, f"the archive ends early or is corrupt here ({error})"
        ) from error


def _guarded(name: str, read: Callable[[], bytes]) -> Callable[[], bytes]:
    """`read`, with a truncated or corrupt stream refused by the member's name (the reader calls
    it outside the generator's own error handling)."""

    def guarded() -> bytes:
        try:
            return read()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise DatasetRejected(
                name, f"the archive ends early or is corrupt here ({error})"
            ) from error

    return guarded


def _zip_members(path: Path, limits: Limits) -> Iterator[Member]:
    counter = _Counter(limits, path.stat().st_size)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetRejected(ARCHIVE, f"not a complete zip archive ({error})") from error
    with archive:
        infos = archive.infolist()
        for info in infos:  # every declared size is checked before any member is read
            safe_name(info.filename)
            counter.member(info.filename, info.file_size)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the writer set no type
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise DatasetRejected(info.filename, "a link or device; only files are read")
            if info.flag_bits & 0x1:
                raise DatasetRejected(info.filename, "encrypted; upload it without a password")
            if not info.is_dir():
                counter.data(info.filename, info.file_size)
        for info in infos:
            path_name = safe_name(info.filename)
            if info.is_dir():
                yield Member(name=path_name + "/", size=0, read=lambda: b"")
                continue

            def read(info: zipfile.ZipInfo = info) -> bytes:
                # zipfile stops at the declared size and checks the CRC.
                try:
                    with archive.open(info) as member:
                        return member.read()
                except (
                    zipfile.BadZipFile,
                    zlib.error,
                    EOFError,
                    OSError,
                    NotImplementedError,
                ) as e:
                    raise DatasetRejected(info.filename, f"corrupt or truncated ({e})") from e

            yield Member(name=path_name, size=info.file_size, read=read)


def sniff(path: Path) -> str:
    """ "zip", "tar" or "unknown", from the first bytes (the file name is the client's word)."""
    with path.open("rb") as f:
        head = f.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return "tar"
    return "unknown"


def members(
    path: Path, limits: Limits, progress: Callable[[float], None] | None = None
) -> Iterator[Member]:
    """The archive's members in archive order, with `progress` (0..1 of the file read)."""
    kind = sniff(path)
    if kind == "zip":
        yield from _zip_members(path, limits)
        return
    if kind != "tar":
        raise DatasetRejected(
            "file", "not a .tar, .tar.gz, .zip or .npz file (its first bytes say neither)"
        )
    size = path.stat().st_size
    with path.open("rb") as raw:
        file = _Progress(raw, size, progress) if progress else raw
        yield from _tar_members(file, limits, size)  # type: ignore[arg-type]


class _Progress:
    """A read-only file that reports the fraction read, at most every 1 %."""

    def __init__(self, raw: IO[bytes], size: int, report: Callable[[float], None]) -> None:
        self.raw, self.size, self.report, self.last = raw, max(size, 1), report, 0.0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        fraction = self.raw.tell() / self.size
        if fraction - self.last >= 0.01:
            self.last = fraction
            self.report(fraction)
        return data
