"""Announced uploads (`pending.py`) kept in the ledger, when files' bytes are
(`[files] storage = "database"`): the session a row of `file_uploads`, its PUT's bytes
chunks beside the files' (`gateway/store/sqlite/file_uploads.py`), so the announce, the PUTs
and the complete of one upload may each reach another replica, with no shared path.

Where the disk store's requests take turns on a session's lock, here each change is one
transaction that first checks the session is still the one it was decided on; a complete
whose session changed meanwhile (a PUT landed) reads it again and decides again. A PUT's
bytes come in under an upload key of their own and become the session's in one transaction.
"""

from __future__ import annotations

import msgspec

from gateway.clock import Clock, system_clock
from gateway.files.errors import FileNotFound
from gateway.files.pending import (
    RETAIN_SECONDS,
    PendingUploads,
    Session,
    UploadExpired,
    UploadMismatch,
    checked,
)
from gateway.files.records import FileRecord
from gateway.files.store import FileStore, Received, Upload
from gateway.store.base import DuplicateFile
from gateway.store.sql import LedgerRunner
from gateway.store.sqlite import file_uploads
from gateway.store.sqlite.file_chunks import CHUNK_BYTES, MissingChunks
from gateway.store.sqlite.times import to_us
from mappings.files import is_well_formed

_session_decoder = msgspec.json.Decoder(Session)


def pending_uploads(store: FileStore, *, clock: Clock = system_clock) -> PendingUploads:
    """The announced uploads of `store`: kept where its bytes are."""
    if store.database is None:
        return PendingUploads(store, clock=clock)
    return DatabaseUploads(store, store.database, clock=clock)


class DatabaseUploads(PendingUploads):
    """The announced uploads of one file store, kept in the ledger `runner` runs jobs on."""

    def __init__(
        self, store: FileStore, runner: LedgerRunner, *, clock: Clock = system_clock
    ) -> None:
        super().__init__(store, clock=clock)
        self._runner = runner

    async def complete(self, owner: str, file_id: str, *, sha256: str | None) -> FileRecord:
        while True:
            raw = await self._raw(file_id)
            session = None if raw is None else _session_decoder.decode(raw)
            if raw is None or session is None or session.owner != owner:
                return await self._completed(owner, file_id, sha256)
            settled = await self._settle(session, raw, sha256)
            if settled is not None:
                return settled

    async def _settle(self, session: Session, raw: str, sha256: str | None) -> FileRecord | None:
        """Check the session `raw` and record its bytes as the owner's file; None if the
        session changed meanwhile (nothing was done)."""
        owner, file_id = session.owner, session.file_id
        if await self._store.get(owner, file_id) is not None:  # completed, not yet forgotten
            await self._runner.write(file_uploads.forget, file_id)
            return await self._completed(owner, file_id, sha256)
        if self._clock() >= self.deadline(session):
            await self._drop_part(raw, session)
            raise UploadExpired("This upload has expired; start a new one.")
        received, problem = checked(session, sha256)
        if problem is None:
            try:
                return await self._adopt(session, raw, received)
            except DuplicateFile:  # another complete of this upload recorded it just now
                return await self._completed(owner, file_id, sha256)
            except MissingChunks:  # its bytes were swept
                problem = "No bytes have been uploaded yet."
        reset = msgspec.structs.replace(session, received=None, received_at=None)
        if await self._drop_part(raw, reset):
            raise UploadMismatch(problem)
        return None

    async def _drop_part(self, raw: str, session: Session) -> bool:
        """Drop the session's bytes and make `session` its JSON, if it is still `raw`."""
        encoded, ends_us = _encode(session), self._ends_us(session)
        return await self._runner.write(
            file_uploads.replace, session.file_id, raw, encoded, ends_us, drop_part=True
        )

    async def _adopt(self, session: Session, raw: str, received: Received) -> FileRecord | None:
        name, file_id = session.announced.name, session.file_id
        record = self._store.new_record(
            session.owner, received, name=name, password=None, file_id=file_id
        )
        chunks = -(-received.size // CHUNK_BYTES)
        return await self._runner.write(file_uploads.adopt, file_id, raw, record, chunks)

    async def _keep(self, file_id: str, upload: Upload) -> Received:
        received = await upload.finish()
        session = await self._session(file_id)
        if session is not None:
            kept = msgspec.structs.replace(session, received=received, received_at=self._clock())
            ends_us, encoded = self._ends_us(kept), _encode(kept)
            if await upload.hand_over(file_uploads.keep_part, file_id, encoded, ends_us):
                return received
        raise FileNotFound("No upload is in progress for this file.")  # completed meanwhile

    async def _session(self, file_id: str) -> Session | None:
        raw = await self._raw(file_id)
        return None if raw is None else _session_decoder.decode(raw)

    async def _raw(self, file_id: str) -> str | None:
        if not is_well_formed(file_id):
            return None
        return await self._runner.read(file_uploads.session, file_id)

    async def _create(self, session: Session) -> None:
        retain_us = int(RETAIN_SECONDS * 1_000_000)
        await self._runner.write(file_uploads.sweep, to_us(self._clock()), retain_us)
        encoded, ends_us = _encode(session), self._ends_us(session)
        await self._runner.write(
            file_uploads.announce, session.file_id, session.owner, encoded, ends_us
        )

    def _ends_us(self, session: Session) -> int:
        return to_us(self.deadline(session))


def _encode(session: Session) -> str:
    return msgspec.json.encode(session).decode()
