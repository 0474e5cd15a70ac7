"""`FileStore`: the one store of uploaded files, shared by both surfaces and every backend.

Metadata lives in the ledger (`FileLedger`), scoped per owner exactly like runs; bytes live
on disk under `[files] dir`, one file per id. Bytes are streamed in and out, never held whole:

    async with store.receiving() as upload:          # a temp file in the store's dir
        async for chunk in body:
            await upload.write(chunk)                # past max_bytes: PayloadTooLarge
        record = await upload.commit(owner, name=name)  # renamed into place, then recorded

A temp file is removed whatever ends the upload short (a limit, a bad form, the client
leaving, a cancellation); a commit renames it into place before the record is inserted, so
a record never names bytes that are not there. `received = await upload.finish()` gives the
size, SHA-256 and first bytes before committing, for callers that check a declared checksum.
An upload recorded in a later request (announced uploads, `pending.py`) is `keep`-t aside by
the request that receives it, and `adopt`-ed by the one that completes it.

Reading: `get` (owner-scoped), `find` (whoever owns it: a signed link's holder), `list`,
`chunks` (streamed), `read_bytes` (whole, for backends that need the document in memory) and
`path_of`. Backends that copy a file to a vendor call `add_copy` and reuse the copy after.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread
import msgspec

from gateway.clock import Clock, system_clock
from gateway.errors import PayloadTooLarge
from gateway.files.errors import FileNotFound
from gateway.files.records import FileListResult, FileRecord
from gateway.files.signing import LinkSigner, SignedLink
from gateway.files.sniff import HEAD_BYTES, sniff
from gateway.store.base import DuplicateFile, FileLedger
from mappings.files import ENTROPY_BYTES, FileQuery, StoredFile, is_well_formed, new_file_id

CHUNK_BYTES = 256 * 1024  # what a download reads and sends at a time
_FLUSH_BYTES = 1024 * 1024  # received bytes are written in runs of this much, off the loop
_TEMP_PREFIX, _TEMP_SUFFIX = ".upload-", ".part"
STALE_TEMP_SECONDS = 3600.0  # an upload untouched this long belongs to a process that died


class Received(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload received: its size, SHA-256 (hex) and first bytes (for sniffing)."""

    size: int
    sha256: str
    head: bytes


class FileStore:
    """Uploaded files: metadata through `ledger`, bytes under `directory`."""

    def __init__(
        self,
        ledger: FileLedger,
        directory: Path,
        *,
        max_bytes: int,
        links: LinkSigner,
        clock: Clock = system_clock,
    ) -> None:
        self._ledger = ledger
        self.directory = directory
        self.max_bytes = max_bytes
        self.links = links
        self._clock = clock

    @asynccontextmanager
    async def receiving(self) -> AsyncIterator[Upload]:
        """An upload into a fresh temp file, removed on leaving unless it was committed."""
        upload = await anyio.to_thread.run_sync(Upload.start, self)
        try:
            yield upload
        finally:
            with anyio.CancelScope(shield=True):  # also when the handler is being cancelled
                await anyio.to_thread.run_sync(upload.discard)

    async def upload(
        self,
        owner: str,
        chunks: AsyncIterable[bytes],
        *,
        name: str,
        password: str | None = None,
    ) -> FileRecord:
        """Receive `chunks` and record them as the owner's file `name`."""
        async with self.receiving() as upload:
            async for chunk in chunks:
                await upload.write(chunk)
            return await upload.commit(owner, name=name, password=password)

    async def get(self, owner: str, file_id: str) -> FileRecord | None:
        """The owner's file, or None (also for another owner's, or a malformed id)."""
        return await self._ledger.get_file(owner, file_id) if is_well_formed(file_id) else None

    async def owned(self, owner: str, file_id: str, *, not_found: str) -> FileRecord:
        """The owner's file; FileNotFound with the caller's dialect's `not_found` wording
        otherwise (another owner's file looks the same as none)."""
        record = await self.get(owner, file_id)
        if record is None:
            raise FileNotFound(not_found)
        return record

    async def find(self, file_id: str) -> FileRecord | None:
        """The file whoever owns it: for a signed link's holder, or a backend that already
        found it through an owner-scoped call."""
        return await self._ledger.find_file(file_id) if is_well_formed(file_id) else None

    async def list(self, owner: str, query: FileQuery) -> FileListResult:
        """A page of the owner's files (`FileLedger.list_files`)."""
        return await self._ledger.list_files(owner, query)

    async def delete(self, owner: str, file_id: str) -> FileRecord | None:
        """Forget the owner's file and remove its bytes; the record it had, or None."""
        if not is_well_formed(file_id):
            return None
        deleted = await self._ledger.delete_file(owner, file_id)
        if deleted is not None:
            path = self.path_of(file_id)
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        return deleted

    def link(self, record: FileRecord) -> SignedLink:
        """A signed, expiring download link to the file, good without a key."""
        return self.links.link(record.id)

    def path_of(self, file_id: str) -> Path:
        """Where the file's bytes are; only for ids the store issued (never a client's text)."""
        if not is_well_formed(file_id):
            raise ValueError(f"not a crosswalk file id: {file_id!r}")
        return self.directory / file_id

    async def open(self, record: FileRecord) -> BinaryIO:
        """The file's bytes, opened for reading (FileNotFoundError if they are gone)."""
        path = self.path_of(record.id)
        return await anyio.to_thread.run_sync(path.open, "rb")

    async def chunks(self, stream: BinaryIO) -> AsyncIterator[bytes]:
        """An opened file's bytes in CHUNK_BYTES pieces, read off the event loop; closes it."""
        try:
            while chunk := await anyio.to_thread.run_sync(stream.read, CHUNK_BYTES):
                yield chunk
        finally:
            stream.close()

    async def read_bytes(self, record: FileRecord) -> bytes:
        """All of the file's bytes (callers bound the size they accept: `record.file.size`)."""
        return await anyio.to_thread.run_sync(self.path_of(record.id).read_bytes)

    async def add_copy(self, file_id: str, backend: str, vendor_file_id: str) -> FileRecord | None:
        """Remember the file's copy at `backend` (`FileLedger.add_file_copy`: first wins)."""
        return await self._ledger.add_file_copy(file_id, backend, vendor_file_id)

    async def record_page_count(self, file_id: str, page_count: int) -> FileRecord | None:
        """Remember the file's page count once a backend has read it."""
        return await self._ledger.set_file_page_count(file_id, page_count)

    async def adopt(
        self, owner: str, kept: Path, received: Received, *, name: str, file_id: str
    ) -> FileRecord:
        """Record the bytes an earlier upload kept at `kept` (`Upload.keep`) as the owner's
        file `file_id`, moving them into place; `received` is what that upload received.
        They stay at `kept` until recorded, so a failed adoption can be tried again."""
        record = self._new_record(owner, received, name=name, password=None, file_id=file_id)
        placed = await self._place(record, lambda final: _link_into_place(kept, final))
        await anyio.to_thread.run_sync(lambda: kept.unlink(missing_ok=True))
        return placed

    async def _place(self, record: FileRecord, move: Callable[[Path], None]) -> FileRecord:
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

    def _new_record(
        self, owner: str, received: Received, *, name: str, password: str | None, file_id: str
    ) -> FileRecord:
        now = self._clock()
        stored = StoredFile(
            id=file_id,
            name=name,
            mime_type=sniff(received.head, name=name, complete=received.size <= HEAD_BYTES),
            size=received.size,
            sha256=received.sha256,
            created_at=now,
            updated_at=now,
        )
        return FileRecord(owner=owner, file=stored, password=password)


class Upload:
    """One upload being received into a temp file in the store's directory. Its blocking
    parts (`start`, `discard`, and the writes `write` hands to a thread) run off the loop."""

    def __init__(self, store: FileStore, temp: Path, out: BinaryIO) -> None:
        self._store = store
        self._temp = temp
        self._out = out
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._size = 0
        self._head = b""
        self._received: Received | None = None
        self._committed = False

    @classmethod
    def start(cls, store: FileStore) -> Upload:
        store.directory.mkdir(parents=True, exist_ok=True)
        temp = store.directory / f"{_TEMP_PREFIX}{secrets.token_hex(12)}{_TEMP_SUFFIX}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return cls(store, temp, os.fdopen(fd, "wb"))

    @property
    def size(self) -> int:
        """Bytes received so far."""
        return self._size

    async def write(self, chunk: bytes) -> None:
        """Take the next bytes. Raises PayloadTooLarge once the upload passes max_bytes."""
        if self._received is not None:
            raise RuntimeError("the upload is finished")
        if self._size + len(chunk) > self._store.max_bytes:
            raise PayloadTooLarge(
                f"The file is larger than the {self._store.max_bytes} bytes this gateway accepts."
            )
        self._size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= _FLUSH_BYTES:
            await self._flush()

    async def finish(self) -> Received:
        """Every byte written and on disk; what was received. Idempotent."""
        if self._received is None:
            await self._flush()
            await anyio.to_thread.run_sync(self._sync)
            digest = self._hash.hexdigest()
            self._received = Received(size=self._size, sha256=digest, head=self._head)
        return self._received

    async def commit(
        self,
        owner: str,
        *,
        name: str,
        password: str | None = None,
        file_id: str | None = None,
    ) -> FileRecord:
        """Finish, move the bytes into place and record the owner's file; `file_id` is one
        issued earlier (an upload announced before its bytes came), else a new one."""
        received = await self.finish()
        file_id = file_id or new_file_id(secrets.token_bytes(ENTROPY_BYTES))
        record = self._store._new_record(
            owner, received, name=name, password=password, file_id=file_id
        )
        return await self._store._place(record, self._move_to)

    async def keep(self, path: Path) -> Received:
        """Finish, and keep the bytes at `path` (replacing what is there) instead of
        recording them: an upload whose file is recorded later, by `FileStore.adopt`."""
        received = await self.finish()
        await anyio.to_thread.run_sync(self._keep_at, path)
        return received

    def _keep_at(self, path: Path) -> None:
        os.replace(self._temp, path)
        self._committed = True

    def _move_to(self, final: Path) -> None:
        _link_into_place(self._temp, final)
        self._committed = True
        self._temp.unlink()

    def discard(self) -> None:
        """Close the temp file and remove it (once committed, it is already gone)."""
        self._out.close()
        self._temp.unlink(missing_ok=True)

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        await anyio.to_thread.run_sync(self._write, data)

    def _write(self, data: bytes) -> None:
        self._hash.update(data)  # hashlib releases the GIL on large buffers
        self._out.write(data)

    def _sync(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())


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
