"""`FileStore`: the one store of uploaded files, shared by both surfaces and every backend.

Metadata lives in the ledger (`FileLedger`), scoped per owner exactly like runs; bytes live
on disk under `[files] dir`, one file per id (`bytes_on_disk`), or in the ledger itself
(`bytes_in_database`, `[files] storage = "database"`). Bytes are streamed in and out, never
held whole:

    async with store.receiving() as upload:          # a temp file, or chunks under a key
        async for chunk in body:
            await upload.write(chunk)                # past max_bytes: PayloadTooLarge
        record = await upload.commit(owner, name=name)  # bytes and record, together

What an upload wrote is dropped whatever ends it short (a limit, a bad form, the client
leaving, a cancellation); a commit makes the bytes the file's with its record, so a record
never names bytes that are not there. `received = await upload.finish()` gives the
size, SHA-256 and first bytes before committing, for callers that check a declared checksum.
An upload recorded in a later request (announced uploads, `pending.py`) is `keep`-t aside by
the request that receives it, and `adopt`-ed by the one that completes it; with bytes in the
ledger, it is handed over to its session instead (`hand_over`, `pending_in_database.py`).

Reading: `get` (owner-scoped), `find` (whoever owns it: a signed link's holder), `list`,
`stream` (a download's pieces), `open` (a real file, to hand on), `read_bytes` (whole, for
backends that need the document in memory) and `path_of` (only when `on_disk`). Backends
that copy a file to a vendor call `add_copy` and reuse the copy after.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO, ParamSpec

import anyio
import anyio.to_thread
import msgspec

from gateway.clock import Clock, system_clock
from gateway.errors import PayloadTooLarge
from gateway.files.bytes_in_database import DatabaseBytes, DatabaseSink, HandOver
from gateway.files.bytes_on_disk import STALE_TEMP_SECONDS as STALE_TEMP_SECONDS
from gateway.files.bytes_on_disk import DiskBytes, DiskSink, read_chunks
from gateway.files.bytes_on_disk import sweep_stale_uploads as sweep_stale_uploads
from gateway.files.errors import FileNotFound
from gateway.files.keeping import FileBytes, Sink
from gateway.files.records import FileListResult, FileRecord
from gateway.files.signing import LinkSigner, SignedLink
from gateway.files.sniff import HEAD_BYTES, sniff
from gateway.store.base import FileLedger
from gateway.store.sql import LedgerRunner
from mappings.files import ENTROPY_BYTES, FileQuery, StoredFile, is_well_formed, new_file_id

P = ParamSpec("P")
_FLUSH_BYTES = 1024 * 1024  # received bytes are written in runs of this much, off the loop


class Received(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload received: its size, SHA-256 (hex) and first bytes (for sniffing)."""

    size: int
    sha256: str
    head: bytes


class FileStore:
    """Uploaded files: metadata through `ledger`, bytes under `directory`, or in the ledger's
    database when `database` (the ledger's runner) is given."""

    def __init__(
        self,
        ledger: FileLedger,
        directory: Path,
        *,
        max_bytes: int,
        links: LinkSigner,
        clock: Clock = system_clock,
        database: LedgerRunner | None = None,
    ) -> None:
        self._ledger = ledger
        self.directory = directory
        self.max_bytes = max_bytes
        self.links = links
        self._clock = clock
        self._disk = DiskBytes(ledger, directory)  # also sweeps what older versions left
        self._bytes: FileBytes = self._disk if database is None else DatabaseBytes(database)
        self.database = database  # the ledger's runner, when bytes are kept in it

    @property
    def on_disk(self) -> bool:
        """Whether files' bytes are files under `directory` (`path_of` names them)."""
        return self._bytes is self._disk

    @asynccontextmanager
    async def receiving(self) -> AsyncIterator[Upload]:
        """An upload, whose bytes are dropped on leaving unless they were committed (or kept,
        or handed over)."""
        sink = await self._bytes.start()
        upload = Upload(self, sink)
        try:
            yield upload
        finally:
            with anyio.CancelScope(shield=True):  # also when the handler is being cancelled
                await sink.discard()

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
        return await self._bytes.delete(owner, file_id)

    def link(self, record: FileRecord) -> SignedLink:
        """A signed, expiring download link to the file, good without a key."""
        return self.links.link(record.id)

    def path_of(self, file_id: str) -> Path:
        """Where the file's bytes are when `on_disk`; only for ids the store issued (never a
        client's text)."""
        return self._disk.path_of(file_id)

    async def open(self, record: FileRecord) -> BinaryIO:
        """The file's bytes, opened for reading (FileNotFoundError if they are gone)."""
        return await self._bytes.open(record)

    async def stream(self, record: FileRecord) -> AsyncIterator[bytes]:
        """The file's bytes in pieces as they are sent (FileNotFoundError if they are gone,
        before the first)."""
        return await self._bytes.stream(record)

    async def chunks(self, stream: BinaryIO) -> AsyncIterator[bytes]:
        """An opened file's bytes in pieces, read off the event loop; closes it."""
        async for chunk in read_chunks(stream):
            yield chunk

    async def read_bytes(self, record: FileRecord) -> bytes:
        """All of the file's bytes (callers bound the size they accept: `record.file.size`)."""
        return await self._bytes.read_bytes(record)

    async def sweep(self) -> int:
        """Drop what uploads of processes that died left behind; how many."""
        return await self._disk.sweep() + (0 if self.on_disk else await self._bytes.sweep())

    async def add_copy(self, file_id: str, backend: str, vendor_file_id: str) -> FileRecord | None:
        """Remember the file's copy at `backend` (`FileLedger.add_file_copy`: first wins)."""
        return await self._ledger.add_file_copy(file_id, backend, vendor_file_id)

    async def record_page_count(self, file_id: str, page_count: int) -> FileRecord | None:
        """Remember the file's page count once a backend has read it."""
        return await self._ledger.set_file_page_count(file_id, page_count)

    async def adopt(
        self, owner: str, kept: Path, received: Received, *, name: str, file_id: str
    ) -> FileRecord:
        """Record the bytes an earlier upload kept at `kept` (`Upload.keep`, `on_disk` only)
        as the owner's file `file_id`, moving them into place; `received` is what that
        upload received. They stay at `kept` until recorded, so a failed adoption can be
        tried again."""
        record = self.new_record(owner, received, name=name, password=None, file_id=file_id)
        placed = await self._disk.adopt(kept, record)
        await anyio.to_thread.run_sync(lambda: kept.unlink(missing_ok=True))
        return placed

    def new_record(
        self, owner: str, received: Received, *, name: str, password: str | None, file_id: str
    ) -> FileRecord:
        """The record of a new file of the owner's, with what was received as its bytes."""
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
    """One upload being received into a `Sink`: counted against the store's limit, hashed
    and its first bytes kept as they come, and written in runs of _FLUSH_BYTES."""

    def __init__(self, store: FileStore, sink: Sink) -> None:
        self._store = store
        self._sink = sink
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._size = 0
        self._head = b""
        self._received: Received | None = None

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
        """Every byte written and durable; what was received. Idempotent."""
        if self._received is None:
            await self._flush()
            await self._sink.finish()
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
        """Finish, and record the owner's file with these bytes; `file_id` is one issued
        earlier (an upload announced before its bytes came), else a new one."""
        received = await self.finish()
        file_id = file_id or new_file_id(secrets.token_bytes(ENTROPY_BYTES))
        record = self._store.new_record(
            owner, received, name=name, password=password, file_id=file_id
        )
        return await self._sink.commit(record)

    async def keep(self, path: Path) -> Received:
        """Finish, and keep the bytes at `path` (replacing what is there) instead of
        recording them, for `FileStore.adopt` to record later (`on_disk` only)."""
        if not isinstance(self._sink, DiskSink):
            raise RuntimeError("only bytes kept on disk can be kept at a path")
        received = await self.finish()
        await self._sink.keep(path)
        return received

    async def hand_over(self, job: HandOver[P], *args: P.args, **kwargs: P.kwargs) -> bool:
        """Finish, and run `job` to give the bytes (kept in the ledger) to something else
        than a file, as `DatabaseSink.hand_over`; whether it took them."""
        if not isinstance(self._sink, DatabaseSink):
            raise RuntimeError("only bytes kept in the ledger can be handed over")
        await self.finish()
        return await self._sink.hand_over(job, *args, **kwargs)

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        # hashlib releases the GIL on large buffers
        await anyio.to_thread.run_sync(self._hash.update, data)
        await self._sink.write(data)
