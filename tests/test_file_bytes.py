"""Files' bytes kept in the ledger (`[files] storage = "database"`), on SQLite and PostgreSQL
(tests/stores.py): chunks of exactly 1 MiB in `file_chunks`, committed with the file's record
or dropped with the upload; deleted with the file; nothing left by an upload cut short, or by
one whose process died."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.errors import PayloadTooLarge
from gateway.files.signing import LinkSigner
from gateway.files.store import FileStore
from gateway.store import owner_of
from gateway.store.base import DuplicateFile
from gateway.store.sqlite import file_chunks
from mappings.files import FileQuery
from tests.pdfs import make_pdf
from tests.stores import AnyLedger, Store

ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")
MIB = 1024 * 1024


@pytest.fixture
async def files(ledger: AnyLedger, tmp_path: Path) -> FileStore:
    links = LinkSigner(b"k" * 32, public_url="http://gw.test", ttl=900)
    directory = tmp_path / "files"
    return FileStore(ledger, directory, max_bytes=8 * MIB, links=links, database=ledger.runner)


def chunks_in(store: Store) -> list[tuple[str, int, int]]:
    """(key, n, bytes) of every chunk in the ledger, read beside the store's connections."""
    rows = store.execute("SELECT file_id, n, length(data) FROM file_chunks")
    return sorted((key, n, size) for key, n, size in rows)


def on_disk(files: FileStore) -> list[str]:
    return sorted(p.name for p in files.directory.iterdir()) if files.directory.exists() else []


async def pieces(data: bytes, size: int = 300_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_an_upload_is_kept_in_1_mib_chunks_and_comes_back_the_same(
    files: FileStore, store: Store
) -> None:
    """Bytes streamed in odd pieces are kept as whole MiB chunks and a short last one, under
    the file's id, with nothing on disk; they come back the same streamed, opened or whole."""
    data = make_pdf(["Invoice total due"]) + os.urandom(3 * MIB)
    record = await files.upload(ALICE, pieces(data), name="scan.pdf")
    assert record.file.sha256 == hashlib.sha256(data).hexdigest()
    assert record.file.mime_type == "application/pdf"
    assert not files.on_disk
    assert on_disk(files) == []
    last = len(data) - 3 * MIB
    sizes = [MIB, MIB, MIB, last]
    assert chunks_in(store) == [(record.id, n, size) for n, size in enumerate(sizes)]
    streamed = [chunk async for chunk in await files.stream(record)]
    assert [len(chunk) for chunk in streamed] == sizes
    assert b"".join(streamed) == data
    with await files.open(record) as opened:
        assert opened.read() == data
    assert await files.read_bytes(record) == data


async def test_an_empty_file_has_no_chunks(files: FileStore, store: Store) -> None:
    record = await files.upload(ALICE, pieces(b""), name="empty.txt")
    assert chunks_in(store) == []
    assert [chunk async for chunk in await files.stream(record)] == []
    assert await files.read_bytes(record) == b""


async def test_deleting_a_file_removes_its_chunks_and_only_its_own(
    files: FileStore, store: Store
) -> None:
    kept = await files.upload(ALICE, pieces(b"k" * (MIB + 5)), name="kept.bin")
    doomed = await files.upload(ALICE, pieces(b"d" * (MIB + 5)), name="doomed.bin")
    assert await files.delete(BOB, doomed.id) is None  # another owner's: untouched
    assert {key for key, _, _ in chunks_in(store)} == {kept.id, doomed.id}
    assert await files.delete(ALICE, doomed.id) == doomed
    assert {key for key, _, _ in chunks_in(store)} == {kept.id}
    assert await files.get(ALICE, doomed.id) is None
    with pytest.raises(FileNotFoundError):  # a reader that found it before: no bytes
        await files.stream(doomed)
    assert await files.read_bytes(kept) == b"k" * (MIB + 5)


async def _failing(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in pieces(data):
        yield chunk
    raise ConnectionResetError("the client went away")


async def test_an_upload_cut_short_leaves_no_chunks_and_no_record(
    files: FileStore, store: Store
) -> None:
    """Chunks already written (here 2 MiB of them) are dropped whatever ends the upload: its
    source failing, the limit, or a cancellation."""
    with pytest.raises(ConnectionResetError):
        await files.upload(ALICE, _failing(b"x" * (2 * MIB + 7)), name="cut.bin")
    assert chunks_in(store) == []
    with pytest.raises(PayloadTooLarge):
        await files.upload(ALICE, pieces(b"x" * (8 * MIB + 1)), name="big.bin")
    assert chunks_in(store) == []
    written, hold = asyncio.Event(), asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        async for chunk in pieces(b"y" * (3 * MIB)):
            yield chunk
        written.set()
        await hold.wait()
        yield b"never"

    task = asyncio.create_task(files.upload(ALICE, stalled(), name="stalled.bin"))
    await written.wait()
    assert {key[: len(file_chunks.UPLOAD_PREFIX)] for key, _, _ in chunks_in(store)} == {
        file_chunks.UPLOAD_PREFIX
    }
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert chunks_in(store) == []
    assert (await files.list(ALICE, FileQuery(limit=10))).records == ()


async def test_a_duplicate_id_keeps_the_first_files_bytes(files: FileStore, store: Store) -> None:
    """A commit whose id is taken raises DuplicateFile; the first file's chunks are kept and
    the second upload's are dropped."""
    first = await files.upload(ALICE, pieces(b"1" * (MIB + 1)), name="one.bin")
    async with files.receiving() as upload:
        await upload.write(b"2" * (MIB + 1))
        with pytest.raises(DuplicateFile):
            await upload.commit(ALICE, name="two.bin", file_id=first.id)
    assert chunks_in(store) == [(first.id, 0, MIB), (first.id, 1, 1)]
    assert await files.read_bytes(first) == b"1" * (MIB + 1)


async def test_an_upload_whose_chunks_were_swept_records_nothing(
    files: FileStore, store: Store
) -> None:
    """A commit finds every chunk it wrote or records nothing: the record never names
    missing bytes."""
    async with files.receiving() as upload:
        await upload.write(b"z" * (2 * MIB))
        await upload.finish()
        ((key, _, _), _) = chunks_in(store)
        store.execute("DELETE FROM file_chunks WHERE file_id = ? AND n = 1", (key,))
        with pytest.raises(file_chunks.MissingChunks):
            await upload.commit(ALICE, name="gone.bin")
    assert chunks_in(store) == []
    assert (await files.list(ALICE, FileQuery(limit=10))).records == ()


async def test_opening_sweeps_uploads_a_dead_process_left_and_spares_live_ones(
    files: FileStore, store: Store
) -> None:
    """Chunks of an upload started past the stale age are dropped by `sweep`; those of a
    recent upload (perhaps another replica's, still coming) and of files are kept."""
    record = await files.upload(ALICE, pieces(b"f" * 10), name="file.bin")
    old_us = int((time.time() - 2 * 24 * 3600) * 1_000_000)
    dead = file_chunks.upload_key(old_us, "dead")
    live = file_chunks.upload_key(time.time_ns() // 1000, "live")
    for key, n, data in [(dead, 0, b"d"), (dead, 1, b"d"), (live, 0, b"l")]:
        store.execute("INSERT INTO file_chunks (file_id, n, data) VALUES (?, ?, ?)", (key, n, data))
    assert await files.sweep() == 1
    assert chunks_in(store) == sorted([(live, 0, 1), (record.id, 0, 10)])
