"""The one error of a refused upload: what is wrong, and where (an archive member or a field)."""

from __future__ import annotations


class DatasetRejected(ValueError):
    """The upload is not a data set this service accepts; `where` names the archive member (or
    the request field) at fault, and the message says what is wrong with it."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
