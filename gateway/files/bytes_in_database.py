"""Files' bytes in the ledger itself (`[files] storage = "database"`): ~1 MiB chunks in the
`file_chunks` table (`gateway/store/sqlite/file_chunks.py`), so replicas on one database
need no shared path. Bytes are streamed in and out a chunk at a time, never held whole
(except by `read_bytes`, whose callers bound the size they accept).

An upload writes each full chunk as it completes, in a short write of its own under the
upload's key; committing records the file and hands it the chunks in one transaction, and an
upload cut short drops them. A file deleted while it is being streamed ends its stream short.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO, Concatenate, ParamSpec

import anyio
import anyio.to_thread

from gateway.files.records import FileRecord
from gateway.store import sql
from gateway.store.sqlite import file_chunks
from gateway.store.sqlite.file_chunks import CHUNK_BYTES

P = ParamSpec("P")
HandOver = Callable[Concatenate[sql.Connection, str, int, P], bool]
STALE_UPLOAD_SECONDS = 24 * 3600.0  # no upload takes this long: its process died


class DatabaseBytes:
    """Bytes and records in the ledger `runner` runs jobs on."""

    def __init__(self, runner: sql.LedgerRunner) -> None:
        self._runner = runner

    async def start(self) -> DatabaseSink:
        key = file_chunks.upload_key(time.time_ns() // 1000, secrets.token_hex(12))
        return DatabaseSink(self._runner, key)

    async def open(self, record: FileRecord) -> BinaryIO:
        # a real file, for callers that hand it on as one (an upload to a vendor): spooled
        # to an unnamed temp file, so it is never held whole here
        spool = await anyio.to_thread.run_sync(tempfile.TemporaryFile)
        try:
            async for data in await self.stream(record):
                await anyio.to_thread.run_sync(spool.write, data)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    async def stream(self, record: FileRecord) -> AsyncIterator[bytes]:
        chunks = -(-record.file.size // CHUNK_BYTES)
        first = await self._chunk(record.id, 0) if chunks else b""
        return self._rest(record.id, first, chunks)

    async def read_bytes(self, record: FileRecord) -> bytes:
        return b"".join([data async for data in await self.stream(record)])

    async def delete(self, owner: str, file_id: str) -> FileRecord | None:
        return await self._runner.write(file_chunks.delete_file, owner, file_id)

    async def sweep(self) -> int:
        cutoff_us = int((time.time() - STALE_UPLOAD_SECONDS) * 1_000_000)
        return await self._runner.write(file_chunks.sweep_uploads, cutoff_us)

    async def _rest(self, file_id: str, first: bytes, chunks: int) -> AsyncIterator[bytes]:
        if first:
            yield first
        for n in range(1, chunks):
            yield await self._chunk(file_id, n)

    async def _chunk(self, file_id: str, n: int) -> bytes:
        data = await self._runner.read(file_chunks.chunk, file_id, n)
        if data is None:  # the file was deleted since it was found
            raise FileNotFoundError(f"file {file_id} has no chunk {n}")
        return data


class DatabaseSink:
    """One upload's chunks, written under its own key as each fills."""

    def __init__(self, runner: sql.LedgerRunner, key: str) -> None:
        self._runner = runner
        self._key = key
        self._carry = b""  # the bytes of the chunk not yet full
        self._written = 0  # chunks written so far
        self._done = False  # committed or discarded: the key's chunks are not ours any more

    async def write(self, data: bytes) -> None:
        buffered = self._carry + data if self._carry else data
        full = len(buffered) // CHUNK_BYTES * CHUNK_BYTES
        self._carry = buffered[full:]
        if full:
            pieces = [buffered[at : at + CHUNK_BYTES] for at in range(0, full, CHUNK_BYTES)]
            await self._put(pieces)

    async def finish(self) -> None:
        if self._carry:
            carry, self._carry = self._carry, b""
            await self._put([carry])

    async def commit(self, record: FileRecord) -> FileRecord:
        count = self._written
        committed = await self._runner.write(file_chunks.commit, self._key, count, record)
        self._done = True
        return committed

    async def hand_over(self, job: HandOver[P], *args: P.args, **kwargs: P.kwargs) -> bool:
        """`job(conn, key, count, ...)`, which gives this upload's chunks to something else
        than a file (an announced upload's session) and says whether it did."""
        self._done = await self._runner.write(job, self._key, self._written, *args, **kwargs)
        return self._done

    async def discard(self) -> None:
        if not self._done and self._written:
            await self._runner.write(file_chunks.discard, self._key)
        self._done = True

    async def _put(self, pieces: list[bytes]) -> None:
        first, self._written = self._written, self._written + len(pieces)
        await self._runner.write(file_chunks.put, self._key, first, pieces)
