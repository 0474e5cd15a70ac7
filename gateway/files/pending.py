"""Uploads announced before their bytes come (Retab's flow, contracts.md §4.1): announcing
one reserves a file id and a signed, expiring upload URL; a keyless PUT to that URL streams
the bytes aside; completing it checks them against the announcement and records the file.

    announced = await uploads.announce(owner, announcement)   # the id and the PUT URL
    await uploads.receive(file_id, chunks, length=...)        # the PUT, its URL checked
    record = await uploads.complete(owner, file_id, sha256=...)  # checked, then recorded

A file is listed, read or linked only once completed. Sessions live beside the store's files,
in `<files dir>/.uploads/`: `<id>.json` (the announcement, and what the last PUT received),
`<id>.part` (those bytes) and `<id>.lock`. Every change to a session is made holding an
exclusive `flock` of its lock file, so the PUTs and completes of one upload take turns in
every process of the deployment, and a session's JSON always describes its part. A session
lasts one link TTL from its announcement, or from its bytes' arrival if later (a PUT that
started in time may end late); after that a complete is a 410 for a day, then a 404.
With files' bytes in the ledger, sessions are kept there too
(`pending_in_database.DatabaseUploads`, made by `pending_uploads`).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path

import anyio.to_thread
import msgspec

from gateway.clock import Clock, system_clock
from gateway.errors import CrosswalkError, PayloadTooLarge
from gateway.files.errors import FileNotFound
from gateway.files.records import FileRecord
from gateway.files.signing import LinkSigner, SignedLink
from gateway.files.store import FileStore, Received, Upload
from mappings.files import ENTROPY_BYTES, is_well_formed, new_file_id
from mappings.uploads import Announcement, mismatch

UPLOAD_PATH = "/crosswalk/uploads/{file_id}"
_UPLOAD_DOMAIN = b"crosswalk.files.upload.v1\x00"  # an upload URL is never a download link
SESSIONS_DIR = ".uploads"
# how long an expired session is remembered (its complete answers 410), then it is forgotten
RETAIN_SECONDS = 24 * 3600.0


class UploadExpired(CrosswalkError):
    """An upload completed after its session ended."""

    status = 410
    code = "UPLOAD_EXPIRED"


class UploadMismatch(CrosswalkError):
    """An upload completed whose bytes are missing, or not those announced."""

    status = 422
    code = "UPLOAD_MISMATCH"


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """One announced upload: whose, what was announced, until when its URL works, and what
    its last PUT received (None before one has, or after its bytes were refused)."""

    file_id: str
    owner: str
    announced: Announcement
    expires_at: datetime
    received: Received | None = None
    received_at: datetime | None = None


class Announced(msgspec.Struct, frozen=True, kw_only=True):
    """A new session and the signed URL its bytes are PUT to."""

    session: Session
    upload: SignedLink


_session_decoder = msgspec.json.Decoder(Session)


class PendingUploads:
    """The announced uploads of one file store, kept beside its files."""

    def __init__(self, store: FileStore, *, clock: Clock = system_clock) -> None:
        self._store = store
        self._dir = store.directory / SESSIONS_DIR
        self._clock = clock
        self.links: LinkSigner = store.links.derived(path=UPLOAD_PATH, domain=_UPLOAD_DOMAIN)

    async def announce(self, owner: str, announcement: Announcement) -> Announced:
        """Reserve a file id for the owner's upload, and a signed URL to PUT its bytes to.
        Raises PayloadTooLarge if the announced size is past the store's limit."""
        if announcement.size > self._store.max_bytes:
            raise PayloadTooLarge(self._too_large(self._store.max_bytes))
        file_id = new_file_id(secrets.token_bytes(ENTROPY_BYTES))
        upload = self.links.link(file_id)
        session = Session(
            file_id=file_id, owner=owner, announced=announcement, expires_at=upload.expires_at
        )
        await self._create(session)
        return Announced(session=session, upload=upload)

    async def receive(
        self, file_id: str, chunks: AsyncIterable[bytes], *, length: int | None
    ) -> Received:
        """A PUT's bytes (`length` if it said), streamed aside for the session `file_id`
        (whose URL the caller has checked); they replace any an earlier PUT sent. More than
        was announced is a PayloadTooLarge, and nothing is kept."""
        session = await self._session(file_id)
        if session is None:
            raise FileNotFound("No upload is in progress for this file.")
        limit = session.announced.size
        if length is not None and length > limit:
            raise PayloadTooLarge(self._too_large(limit, announced=True))
        async with self._store.receiving() as upload:
            async for chunk in chunks:
                if upload.size + len(chunk) > limit:
                    raise PayloadTooLarge(self._too_large(limit, announced=True))
                await upload.write(chunk)
            return await self._keep(file_id, upload)

    async def _keep(self, file_id: str, upload: Upload) -> Received:
        """Keep the upload's bytes as the session's, replacing any it had; what they are."""
        received = await upload.finish()
        async with self._locked(file_id) as session:
            if session is None:  # completed, or forgotten, while the bytes came
                raise FileNotFound("No upload is in progress for this file.")
            # the JSON never describes other bytes than the part's, even if a write fails
            await self._save(msgspec.structs.replace(session, received=None, received_at=None))
            await upload.keep(self._path(file_id, ".part"))
            now = self._clock()
            await self._save(msgspec.structs.replace(session, received=received, received_at=now))
        return received

    async def complete(self, owner: str, file_id: str, *, sha256: str | None) -> FileRecord:
        """Check the owner's upload against its announcement (and `sha256`, lowercase hex,
        if given) and record it as a file. An upload already completed answers the same
        file again. Raises FileNotFound, UploadExpired or UploadMismatch; a mismatch drops
        the bytes, and the session can be sent them again while it lasts."""
        async with self._locked(file_id) as session:
            if session is not None and session.owner == owner:
                return await self._complete(session, sha256)
        return await self._completed(owner, file_id, sha256)

    def deadline(self, session: Session) -> datetime:
        """When the session ends: its URL's expiry, or one TTL after its bytes came."""
        if session.received_at is None:
            return session.expires_at
        return max(session.expires_at, session.received_at + self.links.ttl)

    async def _complete(self, session: Session, sha256: str | None) -> FileRecord:
        """Under the session's lock: check it, then record its bytes as the owner's file."""
        owner, file_id, part = session.owner, session.file_id, self._path(session.file_id, ".part")
        done = await self._store.get(owner, file_id)
        if done is not None:  # recorded by a process that stopped before forgetting it
            await anyio.to_thread.run_sync(self._forget, file_id)
            return await self._completed(owner, file_id, sha256)
        if self._clock() >= self.deadline(session):
            await anyio.to_thread.run_sync(lambda: part.unlink(missing_ok=True))
            raise UploadExpired("This upload has expired; start a new one.")
        received, problem = checked(session, sha256)
        try:
            if problem is None:
                name = session.announced.name
                record = await self._store.adopt(owner, part, received, name=name, file_id=file_id)
                await anyio.to_thread.run_sync(self._forget, file_id)
                return record
        except FileNotFoundError:  # its bytes were swept away
            problem = "No bytes have been uploaded yet."
        await anyio.to_thread.run_sync(lambda: part.unlink(missing_ok=True))
        await self._save(msgspec.structs.replace(session, received=None, received_at=None))
        raise UploadMismatch(problem)

    async def _completed(self, owner: str, file_id: str, sha256: str | None) -> FileRecord:
        """The owner's file, if the upload was completed before (a complete sent twice)."""
        record = await self._store.get(owner, file_id)
        if record is None:
            raise FileNotFound("No upload or file has this id.")
        if sha256 is not None and sha256 != record.file.sha256:
            raise UploadMismatch(
                f"The file's SHA-256 is {record.file.sha256}, not the {sha256} given to complete."
            )
        return record

    async def _session(self, file_id: str) -> Session | None:
        if not is_well_formed(file_id):  # never a path made of a client's text
            return None
        return await anyio.to_thread.run_sync(self._read, file_id)

    def _read(self, file_id: str) -> Session | None:
        try:
            return _session_decoder.decode(self._path(file_id, ".json").read_bytes())
        except FileNotFoundError:
            return None

    async def _save(self, session: Session) -> None:
        await anyio.to_thread.run_sync(self._write, session)

    def _write(self, session: Session) -> None:
        """Replace the session's JSON whole: a reader sees the old one or the new one."""
        path = self._path(session.file_id, ".json")
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        # private, as the store's own files are: it names the owner's file
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(msgspec.json.encode(session))
        os.replace(temp, path)

    async def _create(self, session: Session) -> None:
        await anyio.to_thread.run_sync(self._create_files, session)

    def _create_files(self, session: Session) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        sweep_sessions(self._dir, ttl=self.links.ttl.total_seconds())
        self._path(session.file_id, ".lock").touch(mode=0o600)
        self._write(session)

    def _forget(self, file_id: str) -> None:
        # the lock goes last: a complete waiting on it then finds no session, and answers
        # from the store
        for suffix in (".json", ".part", ".lock"):
            self._path(file_id, suffix).unlink(missing_ok=True)

    @asynccontextmanager
    async def _locked(self, file_id: str) -> AsyncIterator[Session | None]:
        """The session, read holding its lock; None if there is none (any more)."""
        if not is_well_formed(file_id):  # never a path made of a client's text
            yield None
            return
        try:
            fd = await anyio.to_thread.run_sync(_lock, self._path(file_id, ".lock"))
        except FileNotFoundError:  # announced with the session, forgotten after it
            yield None
            return
        try:
            yield await self._session(file_id)
        finally:
            os.close(fd)  # which releases the lock

    def _path(self, file_id: str, suffix: str) -> Path:
        return self._dir / f"{file_id}{suffix}"

    def _too_large(self, limit: int, *, announced: bool = False) -> str:
        if announced:
            return f"The upload is larger than the {limit} bytes announced for it."
        return f"The file is larger than the {limit} bytes this gateway accepts."


def checked(session: Session, sha256: str | None) -> tuple[Received, str | None]:
    """The bytes the session received, and what is wrong with them for a complete that
    gave `sha256` (None: nothing). UploadMismatch if none came."""
    received = session.received
    if received is None:
        raise UploadMismatch("No bytes have been uploaded yet.")
    problem = mismatch(
        session.announced, size=received.size, sha256=received.sha256, completed_with=sha256
    )
    return received, problem


def _lock(path: Path, *, wait: bool = True) -> int:
    """An open descriptor of the lock file `path` holding its exclusive flock; waits until it
    is free, or raises BlockingIOError when it is not and not `wait`. Never creates one: a
    lock file is made with its session, and gone once its session is."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sweep_sessions(directory: Path, *, ttl: float, now: float | None = None) -> int:
    """Drop the bytes of sessions that have ended, forget those that ended RETAIN_SECONDS
    ago, and remove what a process that died mid-write left; returns how many files went.
    A session ends at most one TTL after its JSON was last written; one in use is skipped."""
    now = time.time() if now is None else now
    removed = 0
    for path in directory.iterdir():
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue  # another process swept it first
        if path.name.startswith("."):  # a session's JSON half-written
            stale = age > ttl
        elif path.suffix == ".json":
            removed += _sweep_session(path, forget=age > ttl + RETAIN_SECONDS) if age > ttl else 0
            continue
        else:  # a part or lock whose session was forgotten while it was being used
            stale = age > ttl + RETAIN_SECONDS and not path.with_suffix(".json").exists()
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _sweep_session(json_path: Path, *, forget: bool) -> int:
    """Drop an ended session's bytes, or `forget` it all, unless it is locked right now."""
    lock = json_path.with_suffix(".lock")
    try:
        fd: int | None = _lock(lock, wait=False)
    except BlockingIOError:
        return 0
    except FileNotFoundError:  # a session left without its lock: nobody can be using it
        fd = None
    try:
        doomed = [json_path.with_suffix(".part")]
        if forget:
            doomed += [json_path, lock]
        removed = 0
        for path in doomed:
            with suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed
    finally:
        if fd is not None:
            os.close(fd)
