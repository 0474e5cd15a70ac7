"""The values the file store keeps and returns: one file's record and a page of them.

Frozen msgspec Structs with no I/O; the ledger stores them (`gateway/store/sqlite/files.py`).
Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

import msgspec

from mappings.files import StoredFile


class FileRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One file uploaded through crosswalk, as the ledger keeps it.

    `owner` is `owner_of(client key)`, as for runs: only that key sees the file. `file` is
    what surfaces render. `password` unlocks an encrypted PDF (Extend's `password` part); it
    is kept for the backends that read the file and never rendered or logged. `copies` maps a
    backend's name to the id of this file's copy at that vendor (uploaded once, then reused).
    `seq` is assigned by the store on insert and only grows, so it breaks `created_at` ties.
    """

    owner: str
    file: StoredFile
    password: str | None = None
    copies: dict[str, str] = msgspec.field(default_factory=dict)
    seq: int = 0

    @property
    def id(self) -> str:
        return self.file.id


class FileListResult(msgspec.Struct, frozen=True, kw_only=True):
    """One page of an owner's files, in the query's order, and whether more lie either side."""

    records: tuple[FileRecord, ...]
    has_more_after: bool
    has_more_before: bool
