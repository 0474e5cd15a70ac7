"""The file store over a real ledger (on both stores) and directory: bytes streamed to disk and
back with their size, SHA-256 and sniffed type; nothing left behind by an upload cut short,
whatever cut it."""

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
from gateway.files.store import STALE_TEMP_SECONDS, FileStore, sweep_stale_uploads
from gateway.store import owner_of
from gateway.store.base import DuplicateFile
from mappings.files import FileQuery
from tests.pdfs import make_pdf
from tests.stores import AnyLedger

ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")


@pytest.fixture
def files(ledger: AnyLedger, tmp_path: Path) -> FileStore:
    """Files on disk, their records in the test's ledger (on both stores: tests/stores.py)."""
    links = LinkSigner(b"k" * 32, public_url="http://gw.test", ttl=900)
    return FileStore(ledger, tmp_path / "files", max_bytes=3_000_000, links=links)


def on_disk(files: FileStore) -> list[str]:
    return sorted(p.name for p in files.directory.iterdir())


async def pieces(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_an_upload_is_kept_whole_with_its_digest_and_sniffed_type(files: FileStore) -> None:
    """Bytes streamed in come back the same, streamed out; the record has their size and
    SHA-256, and a type read from the content: a PDF named `.txt` is a PDF."""
    data = make_pdf(["Invoice total due"]) + os.urandom(2_500_000)
    record = await files.upload(ALICE, pieces(data), name="scan.txt", password="pw")
    assert record.file.size == len(data)
    assert record.file.sha256 == hashlib.sha256(data).hexdigest()
    assert record.file.mime_type == "application/pdf"
    assert record.password == "pw"
    assert on_disk(files) == [record.id]
    back = b"".join([chunk async for chunk in files.chunks(await files.open(record))])
    assert back == data
    assert await files.read_bytes(record) == data
    assert await files.get(ALICE, record.id) == record
    assert await files.get(BOB, record.id) is None


async def test_text_named_like_a_pdf_is_text(files: FileStore) -> None:
    record = await files.upload(ALICE, pieces(b"Invoice total: 12 EUR\n"), name="invoice.pdf")
    assert record.file.mime_type == "text/plain"


async def test_an_upload_past_the_limit_is_refused_and_leaves_nothing(files: FileStore) -> None:
    """The byte past `max_bytes` raises PayloadTooLarge; the partial file is removed and no
    record is made."""
    with pytest.raises(PayloadTooLarge, match="3000000 bytes"):
        await files.upload(ALICE, pieces(b"x" * 3_000_001), name="big.bin")
    assert on_disk(files) == []
    assert (await files.list(ALICE, FileQuery(limit=100))).records == ()


async def test_exactly_the_limit_is_accepted(files: FileStore) -> None:
    record = await files.upload(ALICE, pieces(b"x" * 3_000_000), name="full.bin")
    assert record.file.size == 3_000_000


async def test_an_upload_that_fails_midway_leaves_nothing(files: FileStore) -> None:
    """Whatever ends an upload short (here the body's source failing) removes its temp file."""

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 2_000_000  # past a flush: the temp file holds bytes
        raise ConnectionError("the client went away")

    with pytest.raises(ConnectionError):
        await files.upload(ALICE, broken(), name="cut.bin")
    assert on_disk(files) == []


async def test_a_cancelled_upload_leaves_nothing(files: FileStore) -> None:
    """A handler cancelled mid-upload (its client left) still removes the temp file."""
    started, never = asyncio.Event(), asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"a" * 2_000_000
        started.set()
        await never.wait()
        yield b"never"

    task = asyncio.create_task(files.upload(ALICE, stalled(), name="stalled.bin"))
    await started.wait()
    assert len(on_disk(files)) == 1  # the temp file, while the upload waits
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert on_disk(files) == []


async def test_delete_removes_the_record_and_the_bytes(files: FileStore) -> None:
    record = await files.upload(ALICE, pieces(b"hello"), name="a.txt")
    assert await files.delete(BOB, record.id) is None
    assert on_disk(files) == [record.id]
    assert await files.delete(ALICE, record.id) == record
    assert on_disk(files) == []
    assert await files.get(ALICE, record.id) is None


async def test_an_id_issued_earlier_never_replaces_stored_bytes(files: FileStore) -> None:
    """Committing under an id that already has bytes fails, and those bytes stay."""
    first = await files.upload(ALICE, pieces(b"first"), name="a.txt")
    async with files.receiving() as upload:
        await upload.write(b"second")
        with pytest.raises(DuplicateFile):
            await upload.commit(ALICE, name="b.txt", file_id=first.id)
    assert await files.read_bytes(first) == b"first"
    assert on_disk(files) == [first.id]


async def test_finish_tells_size_and_digest_before_the_commit(files: FileStore) -> None:
    async with files.receiving() as upload:
        await upload.write(b"abc")
        received = await upload.finish()
        assert (received.size, received.sha256) == (3, hashlib.sha256(b"abc").hexdigest())
        assert received.head == b"abc"
    assert on_disk(files) == []  # never committed


async def test_ids_the_store_never_issued_name_no_file(files: FileStore) -> None:
    """A vendor's id or a path is not looked up, and never names a path on disk."""
    for odd in ("file_xQ4nT8vB2mK6pR9sW3yZ7c", "../ledger.db", "file_xw1-" + "." * 22):
        assert await files.get(ALICE, odd) is None
        assert await files.find(odd) is None
        with pytest.raises(ValueError, match="not a crosswalk file id"):
            files.path_of(odd)


def test_stale_temp_files_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    """Temp files untouched for an hour (their process died) go; fresher ones and stored
    files stay."""
    stale, live, kept = (tmp_path / n for n in (".upload-a.part", ".upload-b.part", "file_x"))
    for path in (stale, live, kept):
        path.write_bytes(b"x")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    assert sweep_stale_uploads(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".upload-b.part", "file_x"]
