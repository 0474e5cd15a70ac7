"""Retab's announced uploads with files' bytes in the ledger (`pending_in_database.py`), on
SQLite and PostgreSQL (tests/stores.py): the session a row, a PUT's bytes chunks under the
session's part key, handed to the file on complete in one transaction; a mismatch, an expiry
or a sweep drops them; nothing is kept on disk, so announce, PUT and complete may each reach
another replica."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.files.errors import FileNotFound
from gateway.files.pending import RETAIN_SECONDS, UploadExpired, UploadMismatch
from gateway.files.pending_in_database import DatabaseUploads, pending_uploads
from gateway.files.signing import LinkSigner
from gateway.files.store import FileStore
from gateway.store import owner_of
from gateway.store.sqlite.file_uploads import part_key
from mappings.uploads import Announcement
from tests.stores import AnyLedger, Store
from tests.test_file_uploads import T0, TTL, Clock

ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")
MIB = 1024 * 1024
DATA = os.urandom(2 * MIB + 77)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def files(ledger: AnyLedger, tmp_path: Path, clock: Clock) -> FileStore:
    links = LinkSigner(b"k" * 32, public_url="http://gw.test", ttl=900, clock=clock)
    return FileStore(
        ledger,
        tmp_path / "files",
        max_bytes=8 * MIB,
        links=links,
        clock=clock,
        database=ledger.runner,
    )


@pytest.fixture
def uploads(files: FileStore, clock: Clock) -> DatabaseUploads:
    made = pending_uploads(files, clock=clock)
    assert isinstance(made, DatabaseUploads)
    return made


def rows(store: Store) -> tuple[list[tuple[str, int]], list[str]]:
    """Every chunk (key, n) and every session's file id in the ledger."""
    chunks = store.execute("SELECT file_id, n FROM file_chunks")
    sessions = store.execute("SELECT file_id FROM file_uploads")
    return sorted((key, n) for key, n in chunks), sorted(file_id for (file_id,) in sessions)


def announcement(data: bytes, *, sha: bool = False) -> Announcement:
    digest = hashlib.sha256(data).hexdigest() if sha else None
    return Announcement(name="scan.bin", size=len(data), sha256=digest)


async def pieces(data: bytes, size: int = 300_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_put_waits_in_the_ledger_and_its_complete_hands_it_to_the_file(
    files: FileStore, store: Store, uploads: DatabaseUploads
) -> None:
    file_id = (await uploads.announce(ALICE, announcement(DATA, sha=True))).session.file_id
    assert rows(store) == ([], [file_id])
    await uploads.receive(file_id, pieces(DATA), length=len(DATA))
    part = part_key(file_id)
    assert rows(store) == ([(part, 0), (part, 1), (part, 2)], [file_id])
    assert await files.get(ALICE, file_id) is None
    record = await uploads.complete(ALICE, file_id, sha256=None)
    assert (record.id, record.file.size) == (file_id, len(DATA))
    assert rows(store) == ([(file_id, 0), (file_id, 1), (file_id, 2)], [])
    assert await files.read_bytes(record) == DATA
    assert not files.directory.exists() or list(files.directory.rglob("*")) == []


async def test_a_mismatch_drops_the_bytes_and_the_right_ones_can_follow(
    files: FileStore, store: Store, uploads: DatabaseUploads
) -> None:
    file_id = (await uploads.announce(ALICE, announcement(DATA, sha=True))).session.file_id
    wrong = DATA[:-1] + bytes([DATA[-1] ^ 1])
    await uploads.receive(file_id, pieces(wrong), length=len(wrong))
    with pytest.raises(UploadMismatch, match=r"not the .* announced"):
        await uploads.complete(ALICE, file_id, sha256=None)
    assert rows(store) == ([], [file_id])
    with pytest.raises(UploadMismatch, match="No bytes have been uploaded"):
        await uploads.complete(ALICE, file_id, sha256=None)
    await uploads.receive(file_id, pieces(wrong), length=len(wrong))
    await uploads.receive(file_id, pieces(DATA), length=len(DATA))  # replaces the first
    assert len(rows(store)[0]) == 3
    assert await files.read_bytes(await uploads.complete(ALICE, file_id, sha256=None)) == DATA


async def test_completing_twice_at_once_answers_the_same_file_and_only_its_owner(
    files: FileStore, store: Store, uploads: DatabaseUploads
) -> None:
    file_id = (await uploads.announce(ALICE, announcement(DATA))).session.file_id
    await uploads.receive(file_id, pieces(DATA), length=len(DATA))
    with pytest.raises(FileNotFound):
        await uploads.complete(BOB, file_id, sha256=None)
    both = await asyncio.gather(*(uploads.complete(ALICE, file_id, sha256=None) for _ in "ab"))
    assert both[0] == both[1]
    assert await uploads.complete(ALICE, file_id, sha256=None) == both[0]
    with pytest.raises(UploadMismatch, match="given to complete"):
        await uploads.complete(ALICE, file_id, sha256="0" * 64)
    assert rows(store) == ([(file_id, 0), (file_id, 1), (file_id, 2)], [])


async def test_a_put_cut_short_or_ending_after_the_complete_keeps_nothing(
    files: FileStore, store: Store, uploads: DatabaseUploads
) -> None:
    """The session keeps the bytes it had when a PUT fails midway; a PUT whose session was
    completed while its bytes came is refused and leaves no chunks."""
    file_id = (await uploads.announce(ALICE, announcement(DATA))).session.file_id
    await uploads.receive(file_id, pieces(DATA), length=len(DATA))

    async def failing() -> AsyncIterator[bytes]:
        async for chunk in pieces(DATA):
            yield chunk
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await uploads.receive(file_id, failing(), length=len(DATA))
    part = part_key(file_id)
    assert rows(store) == ([(part, 0), (part, 1), (part, 2)], [file_id])

    async def completed_meanwhile() -> AsyncIterator[bytes]:
        async for chunk in pieces(DATA):
            yield chunk
        await uploads.complete(ALICE, file_id, sha256=None)

    with pytest.raises(FileNotFound):
        await uploads.receive(file_id, completed_meanwhile(), length=len(DATA))
    assert rows(store) == ([(file_id, 0), (file_id, 1), (file_id, 2)], [])


async def test_an_ended_session_loses_its_bytes_then_is_forgotten(
    store: Store, uploads: DatabaseUploads, clock: Clock
) -> None:
    """Completed after its TTL, an upload is a 410 and its bytes go; an announcement a TTL
    later sweeps the bytes of ended sessions, and a day later forgets them."""
    late = (await uploads.announce(ALICE, announcement(DATA))).session.file_id
    await uploads.receive(late, pieces(DATA), length=len(DATA))
    swept = (await uploads.announce(ALICE, announcement(DATA))).session.file_id
    await uploads.receive(swept, pieces(DATA), length=len(DATA))
    clock.now = T0 + TTL
    with pytest.raises(UploadExpired):
        await uploads.complete(ALICE, late, sha256=None)
    assert [key for key, _ in rows(store)[0]] == [part_key(swept)] * 3
    fresh = (await uploads.announce(ALICE, announcement(b"x"))).session.file_id
    assert rows(store) == ([], sorted([late, swept, fresh]))
    with pytest.raises(UploadExpired):  # still, for as long as the session is remembered
        await uploads.complete(ALICE, swept, sha256=None)
    clock.now = T0 + TTL + timedelta(seconds=RETAIN_SECONDS + 1)
    await uploads.announce(ALICE, announcement(b"y"))
    assert late not in rows(store)[1]
    with pytest.raises(FileNotFound):
        await uploads.complete(ALICE, late, sha256=None)
