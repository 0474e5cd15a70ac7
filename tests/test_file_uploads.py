"""Uploads announced before their bytes come (gateway/files/pending.py), over a real ledger
and directory: the bytes are kept aside until the upload is completed, checked against what
was announced, then recorded under the announced id; nothing is left by a refusal, and a
session ends on the app's clock."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.errors import PayloadTooLarge
from gateway.files.errors import FileNotFound
from gateway.files.pending import (
    RETAIN_SECONDS,
    SESSIONS_DIR,
    PendingUploads,
    UploadExpired,
    UploadMismatch,
    sweep_sessions,
)
from gateway.files.signing import LinkSigner
from gateway.files.store import FileStore
from gateway.store import SqliteLedger, owner_of
from gateway.store.base import DuplicateFile
from mappings.files import FileQuery, new_file_id
from mappings.uploads import Announcement, mismatch, sha256_hex
from tests.pdfs import make_pdf

ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PDF = make_pdf(["Invoice 2026-114", "Total due: 1,250.00 EUR"])
TTL = timedelta(seconds=900)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[FileStore]:
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        links = LinkSigner(b"k" * 32, public_url="http://gw.test", ttl=900, clock=clock)
        yield FileStore(ledger, tmp_path / "files", max_bytes=3_000_000, links=links, clock=clock)


@pytest.fixture
def uploads(store: FileStore, clock: Clock) -> PendingUploads:
    return PendingUploads(store, clock=clock)


def announcement(data: bytes, *, name: str = "invoice.pdf", sha: bool = False) -> Announcement:
    digest = hashlib.sha256(data).hexdigest() if sha else None
    return Announcement(name=name, size=len(data), sha256=digest)


async def pieces(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def everything_in(store: FileStore) -> list[str]:
    """Every file under the store's directory, sessions' included."""
    return sorted(str(p.relative_to(store.directory)) for p in store.directory.rglob("*"))


def sessions_in(store: FileStore) -> list[str]:
    return sorted(p.name for p in (store.directory / SESSIONS_DIR).iterdir())


async def test_a_file_appears_only_once_its_upload_is_completed(
    store: FileStore, uploads: PendingUploads
) -> None:
    """Announced, then sent, the file is nowhere to be seen; completed, it is the owner's
    file under the announced id, typed from its bytes, with their size and SHA-256."""
    announced = await uploads.announce(ALICE, announcement(PDF, name="scan.txt", sha=True))
    file_id = announced.session.file_id
    assert file_id.startswith("file_xw1-")
    assert announced.upload.url.startswith(f"http://gw.test/crosswalk/uploads/{file_id}?")
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    assert await store.get(ALICE, file_id) is None
    assert (await store.list(ALICE, FileQuery())).records == ()
    record = await uploads.complete(ALICE, file_id, sha256=hashlib.sha256(PDF).hexdigest())
    assert (record.id, record.owner, record.file.name) == (file_id, ALICE, "scan.txt")
    assert record.file.mime_type == "application/pdf"
    assert (record.file.size, record.file.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert await store.read_bytes(record) == PDF
    assert everything_in(store) == [SESSIONS_DIR, file_id]  # the session is gone


async def test_a_sessions_files_are_private(store: FileStore, uploads: PendingUploads) -> None:
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    for name in sessions_in(store):
        assert stat.S_IMODE((store.directory / SESSIONS_DIR / name).stat().st_mode) == 0o600


async def test_more_than_announced_is_refused_and_leaves_nothing(
    store: FileStore, uploads: PendingUploads
) -> None:
    """A PUT whose length says too much is refused before reading; one whose bytes run past
    the announced size is cut at that byte; neither keeps anything."""
    file_id = (await uploads.announce(ALICE, Announcement(name="a.bin", size=10))).session.file_id
    with pytest.raises(PayloadTooLarge, match="10 bytes announced"):
        await uploads.receive(file_id, pieces(b"x" * 11), length=11)
    with pytest.raises(PayloadTooLarge, match="10 bytes announced"):
        await uploads.receive(file_id, pieces(b"x" * 11, size=3), length=None)
    assert everything_in(store) == [SESSIONS_DIR, *sessions(file_id, ".json", ".lock")]


def sessions(file_id: str, *suffixes: str) -> list[str]:
    return [f"{SESSIONS_DIR}/{file_id}{suffix}" for suffix in suffixes]


async def test_an_announcement_past_the_store_limit_is_refused(uploads: PendingUploads) -> None:
    with pytest.raises(PayloadTooLarge, match="3000000 bytes this gateway accepts"):
        await uploads.announce(ALICE, Announcement(name="big.bin", size=3_000_001))


@pytest.mark.parametrize(
    ("sent", "announced_sha", "completed_sha", "message"),
    [
        (PDF[:-1], False, None, "bytes were uploaded, but"),
        (PDF[:-1] + b"!", True, None, "not the .* announced"),
        (PDF[:-1] + b"!", False, hashlib.sha256(PDF).hexdigest(), "given to complete"),
    ],
)
async def test_bytes_unlike_the_announcement_are_refused_and_can_be_sent_again(
    store: FileStore,
    uploads: PendingUploads,
    sent: bytes,
    announced_sha: bool,
    completed_sha: str | None,
    message: str,
) -> None:
    """A size or checksum that does not match is an UploadMismatch naming it; the bytes are
    dropped, and the right ones can still be sent and completed."""
    file_id = (await uploads.announce(ALICE, announcement(PDF, sha=announced_sha))).session.file_id
    await uploads.receive(file_id, pieces(sent), length=len(sent))
    with pytest.raises(UploadMismatch, match=message):
        await uploads.complete(ALICE, file_id, sha256=completed_sha)
    assert everything_in(store) == [SESSIONS_DIR, *sessions(file_id, ".json", ".lock")]
    with pytest.raises(UploadMismatch, match="No bytes have been uploaded"):
        await uploads.complete(ALICE, file_id, sha256=completed_sha)
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    assert (await uploads.complete(ALICE, file_id, sha256=completed_sha)).file.size == len(PDF)


async def test_a_later_put_replaces_an_earlier_one(uploads: PendingUploads) -> None:
    file_id = (await uploads.announce(ALICE, announcement(b"first!"))).session.file_id
    await uploads.receive(file_id, pieces(b"wrong!"), length=6)
    await uploads.receive(file_id, pieces(b"first!"), length=6)
    record = await uploads.complete(ALICE, file_id, sha256=hashlib.sha256(b"first!").hexdigest())
    assert record.file.size == 6


async def test_only_the_announcing_owner_completes(
    store: FileStore, uploads: PendingUploads
) -> None:
    """Another owner's complete is a FileNotFound, as for an id never issued; the upload is
    still there for its owner."""
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    with pytest.raises(FileNotFound):
        await uploads.complete(BOB, file_id, sha256=None)
    with pytest.raises(FileNotFound):
        await uploads.complete(ALICE, "file_xw1-" + "A" * 22, sha256=None)
    with pytest.raises(FileNotFound):
        await uploads.complete(ALICE, "../../ledger.db", sha256=None)
    with pytest.raises(FileNotFound):
        await uploads.receive("../x", pieces(b"x"), length=1)
    assert (await uploads.complete(ALICE, file_id, sha256=None)).owner == ALICE


async def test_completing_twice_answers_the_same_file(uploads: PendingUploads) -> None:
    """A complete sent again (a retry) answers the file it recorded, at once or together;
    with a digest that is not the file's it is a mismatch."""
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    both = await asyncio.gather(*(uploads.complete(ALICE, file_id, sha256=None) for _ in "ab"))
    assert both[0] == both[1]
    assert await uploads.complete(ALICE, file_id, sha256=None) == both[0]
    with pytest.raises(UploadMismatch, match="given to complete"):
        await uploads.complete(ALICE, file_id, sha256="0" * 64)
    with pytest.raises(FileNotFound):
        await uploads.complete(BOB, file_id, sha256=None)


async def test_a_session_ends_one_ttl_after_its_announcement_or_its_bytes(
    store: FileStore, uploads: PendingUploads, clock: Clock
) -> None:
    """Unsent for a TTL, an upload cannot be completed (410); bytes that came give it one
    TTL more, after which its bytes are dropped too."""
    unsent = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    sent = await uploads.announce(ALICE, announcement(PDF))
    assert sent.upload.expires_at == T0 + TTL
    clock.now = T0 + TTL - timedelta(seconds=1)
    await uploads.receive(sent.session.file_id, pieces(PDF), length=len(PDF))
    clock.now = T0 + TTL
    with pytest.raises(UploadExpired):
        await uploads.complete(ALICE, unsent, sha256=None)
    clock.now = T0 + 2 * TTL - timedelta(seconds=2)
    late = sent.session.file_id
    assert (await uploads.complete(ALICE, late, sha256=None)).id == late
    again = await uploads.announce(ALICE, announcement(PDF))
    await uploads.receive(again.session.file_id, pieces(PDF), length=len(PDF))
    clock.now += TTL
    with pytest.raises(UploadExpired):
        await uploads.complete(ALICE, again.session.file_id, sha256=None)
    assert f"{again.session.file_id}.part" not in sessions_in(store)
    with pytest.raises(UploadExpired):  # still, for as long as the session is remembered
        await uploads.complete(ALICE, again.session.file_id, sha256=None)


async def test_upload_urls_and_download_links_are_never_each_other(
    store: FileStore, uploads: PendingUploads
) -> None:
    """The same id signed as a download link does not open an upload, nor the reverse."""
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    upload = parse_qs(urlsplit(uploads.links.link(file_id).url).query)
    download = parse_qs(urlsplit(store.links.link(file_id).url).query)
    assert uploads.links.valid(file_id, upload["expires"][0], upload["signature"][0])
    assert not uploads.links.valid(file_id, download["expires"][0], download["signature"][0])
    assert not store.links.valid(file_id, upload["expires"][0], upload["signature"][0])
    assert store.links.file_id_of(uploads.links.link(file_id).url) is None


async def test_ended_sessions_are_swept(store: FileStore, uploads: PendingUploads) -> None:
    """A session's bytes go one TTL after its last change, the session itself a day later;
    a session in use is left alone."""
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    directory, ttl = store.directory / SESSIONS_DIR, TTL.total_seconds()
    assert sweep_sessions(directory, ttl=ttl) == 0
    later = time.time() + ttl + 1
    async with uploads._locked(file_id):
        assert sweep_sessions(directory, ttl=ttl, now=later) == 0
    assert sweep_sessions(directory, ttl=ttl, now=later) == 1
    assert sessions_in(store) == [f"{file_id}.json", f"{file_id}.lock"]
    assert sweep_sessions(directory, ttl=ttl, now=later + RETAIN_SECONDS) == 2
    assert sessions_in(store) == []


def test_leftovers_of_a_dead_process_are_swept(tmp_path: Path) -> None:
    """A half-written session goes after a TTL; a part or lock whose session is gone after
    a day."""
    names = (".file_a.json.1f", "file_b.part", "file_b.lock", "file_c.part", "file_c.json")
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert sweep_sessions(tmp_path, ttl=900, now=time.time() + 901) == 2  # temp, c's part
    assert sweep_sessions(tmp_path, ttl=900, now=time.time() + 901 + RETAIN_SECONDS) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_digest_is_64_hex_digits_and_compared_in_lowercase() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert sha256_hex(digest.upper()) == digest
    assert sha256_hex(digest[:-1]) is None
    assert sha256_hex(digest + "0") is None
    assert sha256_hex("g" * 64) is None
    told = Announcement(name="x", size=1, sha256=digest)
    assert mismatch(told, size=1, sha256=digest, completed_with=digest) is None
    assert mismatch(told, size=2, sha256=digest) == "2 bytes were uploaded, but 1 were announced."


async def test_a_put_that_ends_after_its_session_was_completed_keeps_nothing(
    store: FileStore, uploads: PendingUploads
) -> None:
    """A second PUT still streaming while the first one's upload is completed finds no
    session at its end: it is refused, and its bytes are not kept."""
    file_id = (await uploads.announce(ALICE, announcement(PDF))).session.file_id
    await uploads.receive(file_id, pieces(PDF), length=len(PDF))
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield PDF[:10]
        started.set()
        await release.wait()
        yield PDF[10:]

    late = asyncio.create_task(uploads.receive(file_id, slow(), length=len(PDF)))
    await started.wait()
    await uploads.complete(ALICE, file_id, sha256=None)
    release.set()
    with pytest.raises(FileNotFound):
        await late
    assert everything_in(store) == [SESSIONS_DIR, file_id]
    assert os.path.getsize(store.path_of(file_id)) == len(PDF)


async def test_bytes_kept_aside_stay_until_they_are_recorded(store: FileStore) -> None:
    """An adoption the ledger refuses (here: the id is already recorded, its bytes gone)
    leaves the kept bytes where they were, to be tried again, and nothing under the id; one
    that succeeds moves them into place."""
    taken = await store.upload(ALICE, pieces(b"first"), name="a.txt")
    store.path_of(taken.id).unlink()
    kept = store.directory / "kept.part"
    async with store.receiving() as upload:
        await upload.write(b"second")
        received = await upload.keep(kept)
    with pytest.raises(DuplicateFile):
        await store.adopt(ALICE, kept, received, name="b.txt", file_id=taken.id)
    assert kept.read_bytes() == b"second"
    assert not store.path_of(taken.id).exists()
    other = new_file_id(bytes(range(16)))
    record = await store.adopt(ALICE, kept, received, name="b.txt", file_id=other)
    assert await store.read_bytes(record) == b"second"
    assert not kept.exists()
