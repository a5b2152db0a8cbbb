"""Attachment storage: a local directory by default.

Files live under `<root>/<organization id>/<uuid>`: the name on disk is never user text,
and one organization's files are never found through another's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StorageUnavailable(Exception):
    """The file store could not take a file (full disk, permissions): nothing was kept."""


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, organization_id: int, storage_key: str) -> Path:
        return self.root / str(organization_id) / storage_key

    @contextmanager
    def writing(self, organization_id: int, content: bytes | None) -> Iterator[str | None]:
        """Write `content` under a new key (nothing for None); the file is removed again if
        the block fails, so a refused or rolled-back change leaves no file behind."""
        if content is None:
            yield None
            return
        storage_key = uuid.uuid4().hex
        path = self.path_of(organization_id, storage_key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except OSError as error:  # a full disk, say: no half-written file stays behind
            path.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot store the file: {error.strerror or error}") from error
        try:
            yield storage_key
        except BaseException:
            path.unlink(missing_ok=True)
            raise
