"""Files' bytes on disk (`[files] storage = "disk"`, the default): one file per id under
`[files] dir`, which replicas must share. An upload writes a temp file in that directory; a
commit links it into place before the record is inserted (and unlinks it again if the insert
fails), so a record never names bytes that are not there. Every blocking call runs off the
event loop."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread

from gateway.files.records import FileRecord
from gateway.store.base import DuplicateFile, FileLedger
from mappings.files import is_well_formed

CHUNK_BYTES = 256 * 1024  # what a download reads and sends at a time
_TEMP_PREFIX, _TEMP_SUFFIX = ".upload-", ".part"
STALE_TEMP_SECONDS = 3600.0  # an upload untouched this long belongs to a process that died


class DiskBytes:
    """Bytes under `directory`, records in `ledger`."""

    def __init__(self, ledger: FileLedger, directory: Path) -> None:
        self._ledger = ledger
        self.directory = directory

    def path_of(self, file_id: str) -> Path:
        """Where the file's bytes are; only for ids the store issued (never a client's text)."""
        if not is_well_formed(file_id):
            raise ValueError(f"not a crosswalk file id: {file_id!r}")
        return self.directory / file_id

    async def start(self) -> DiskSink:
        return await anyio.to_thread.run_sync(DiskSink.start, self)

    async def adopt(self, kept: Path, record: FileRecord) -> FileRecord:
        return await self.place(record, lambda final: _link_into_place(kept, final))

    async def open(self, record: FileRecord) -> BinaryIO:
        return await anyio.to_thread.run_sync(self.path_of(record.id).open, "rb")

    async def stream(self, record: FileRecord) -> AsyncIterator[bytes]:
        return read_chunks(await self.open(record))

    async def read_bytes(self, record: FileRecord) -> bytes:
        return await anyio.to_thread.run_sync(self.path_of(record.id).read_bytes)

    async def delete(self, owner: str, file_id: str) -> FileRecord | None:
        deleted = await self._ledger.delete_file(owner, file_id)
        if deleted is not None:
            path = self.path_of(file_id)
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        return deleted

    async def sweep(self) -> int:
        return await anyio.to_thread.run_sync(sweep_stale_uploads, self.directory)

    async def place(self, record: FileRecord, move: Callable[[Path], None]) -> FileRecord:
        """`move` the record's bytes to where its id keeps them, then insert the record; the
        bytes are removed again if it cannot be inserted."""
        final = self.path_of(record.id)
        await anyio.to_thread.run_sync(move, final)
        try:
            return await self._ledger.insert_file(record)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: final.unlink(missing_ok=True))
            raise


class DiskSink:
    """One upload being received into a temp file in the store's directory."""

    def __init__(self, disk: DiskBytes, temp: Path, out: BinaryIO) -> None:
        self._disk = disk
        self._temp = temp
        self._out = out

    @classmethod
    def start(cls, disk: DiskBytes) -> DiskSink:
        disk.directory.mkdir(parents=True, exist_ok=True)
        temp = disk.directory / f"{_TEMP_PREFIX}{secrets.token_hex(12)}{_TEMP_SUFFIX}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return cls(disk, temp, os.fdopen(fd, "wb"))

    async def write(self, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._out.write, data)

    async def finish(self) -> None:
        await anyio.to_thread.run_sync(self._sync)

    async def commit(self, record: FileRecord) -> FileRecord:
        return await self._disk.place(record, self._move_to)

    async def keep(self, path: Path) -> None:
        """Keep the bytes at `path` (replacing what is there) instead of recording them."""
        await anyio.to_thread.run_sync(os.replace, self._temp, path)

    async def discard(self) -> None:
        await anyio.to_thread.run_sync(self._discard)

    def _move_to(self, final: Path) -> None:
        _link_into_place(self._temp, final)
        self._temp.unlink()

    def _discard(self) -> None:
        # once committed or kept the temp file is gone already
        self._out.close()
        self._temp.unlink(missing_ok=True)

    def _sync(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())


async def read_chunks(stream: BinaryIO) -> AsyncIterator[bytes]:
    """An opened file's bytes in CHUNK_BYTES pieces, read off the event loop; closes it."""
    try:
        while chunk := await anyio.to_thread.run_sync(stream.read, CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()


def _link_into_place(source: Path, final: Path) -> None:
    # a link never replaces: bytes already kept under that id stay as they are
    try:
        os.link(source, final)
    except FileExistsError:
        raise DuplicateFile(f"file {final.name} is already stored") from None


def sweep_stale_uploads(directory: Path, *, now: float | None = None) -> int:
    """Remove temp files of uploads untouched for STALE_TEMP_SECONDS (their process died
    mid-upload); returns how many. A live upload writes often, so it is never one of them."""
    cutoff = (time.time() if now is None else now) - STALE_TEMP_SECONDS
    removed = 0
    for temp in directory.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another process swept it first
    return removed
