"""Where a `FileStore` keeps its files' bytes: on disk under `[files] dir`
(`bytes_on_disk.DiskBytes`, the default) or in the ledger itself (`bytes_in_database.
DatabaseBytes`, `[files] storage = "database"`, so replicas need no shared path).

Either way a record never names bytes that are not there, and bytes never outlive their
record for long: a `Sink` takes an upload's bytes as they come and `commit`s them with the
file's record, or drops them on `discard`; `FileBytes.delete` forgets a file and its bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO, Protocol

from gateway.files.records import FileRecord


class Sink(Protocol):
    """One upload's bytes on their way to the store, not yet any file's."""

    async def write(self, data: bytes) -> None:
        """Append the next bytes."""
        ...

    async def finish(self) -> None:
        """Make every byte written durable."""
        ...

    async def commit(self, record: FileRecord) -> FileRecord:
        """Make the bytes `record`'s and insert it: readers see both or neither. Returns the
        record with `seq` assigned; raises DuplicateFile (the bytes stay the sink's)."""
        ...

    async def discard(self) -> None:
        """Drop the bytes, unless committed (or kept, or handed over); safe to call twice."""
        ...


class FileBytes(Protocol):
    """The bytes of a store's files, and the records that name them."""

    async def start(self) -> Sink:
        """A sink for a new upload."""
        ...

    async def open(self, record: FileRecord) -> BinaryIO:
        """The file's bytes as a file opened for reading (FileNotFoundError if gone)."""
        ...

    async def stream(self, record: FileRecord) -> AsyncIterator[bytes]:
        """The file's bytes in pieces, read as they are sent; FileNotFoundError here, before
        the first piece, if they are gone."""
        ...

    async def read_bytes(self, record: FileRecord) -> bytes:
        """All of the file's bytes (FileNotFoundError if gone)."""
        ...

    async def delete(self, owner: str, file_id: str) -> FileRecord | None:
        """Forget the owner's file and its bytes; the record it had, or None."""
        ...

    async def sweep(self) -> int:
        """Drop what uploads of processes that died left behind; how many uploads."""
        ...
