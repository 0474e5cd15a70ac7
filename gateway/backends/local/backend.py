"""The `local` backend: offline classification with runs kept in the ledger (design.md §4).

Sync requests are classified while the client waits; background requests are recorded as
`queued` and picked up by `LocalWorker`s in any server process sharing the ledger; those of
this process are woken at once by the ledger's doorbell.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from gateway.backends.base import Accepted, Relay
from gateway.backends.circuit import CircuitState
from gateway.backends.local.ids import new_run_id
from gateway.backends.local.runner import DocumentProblem, LocalEngine, file_id, guess_mime
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import InvalidRequest
from gateway.store.base import WorkQueue
from gateway.store.records import RunRecord
from mappings import canonical
from mappings.dialects import Dialect


class InvalidDocument(InvalidRequest):
    """The document cannot be used: undecodable, unreachable or refused."""

    status = 400
    code = "INVALID_DOCUMENT"


class LocalBackend:
    """Implements `Backend` with the offline engine."""

    dialect: Dialect | None = None
    relay: Relay | None = None  # nothing upstream to relay to

    def __init__(
        self, name: str, *, engine: LocalEngine, ledger: WorkQueue, clock: Clock = system_clock
    ) -> None:
        self.name = name
        self._engine = engine
        self._ledger = ledger
        self._clock = clock

    def circuit_state(self) -> CircuitState:
        return "closed"  # no vendor to eject

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,  # one call, or no vendor: nothing exists before it ends
    ) -> canonical.ClassificationRun:
        if isinstance(request.document, canonical.FileRefDocument):
            raise _vendor_file(request.document)
        if request.classifier is not None:
            raise InvalidRequest(
                "classifier: saved classifiers are not available on the local backend; "
                "send an inline config",
                status=422,
            )
        run = _new_run(request, self._clock())
        try:
            if request.background:
                await self._check_inline(request)
                # the ledger rings the workers' doorbell once the caller has recorded it
                return msgspec.structs.replace(run, status=canonical.Status.queued)
            async with self._engine.paced():
                return await self._engine.process(request, run)
        except DocumentProblem as exc:
            raise InvalidDocument(exc.message, details={"code": exc.code}) from None

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        # the ledger is this backend's own store, so the record is already current
        return record.run

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        now = self._clock()
        updated = await self._ledger.request_cancel(
            call.principal.owner, self.name, record.upstream_id, now
        )
        return updated.run if updated is not None else record.run

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        # nothing upstream to forget; a worker still running it finds the record gone
        return None

    async def _check_inline(self, request: canonical.ClassifyRequest) -> None:
        """Reject an undecodable inline document now rather than fail the run later."""
        if isinstance(request.document, canonical.InlineDocument | canonical.TextDocument):
            loaded = await self._engine.load(request.document)
            await self._engine.extract(loaded, request.config.pages)


def _new_run(request: canonical.ClassifyRequest, now: datetime) -> canonical.ClassificationRun:
    return canonical.ClassificationRun(
        id=new_run_id(now),
        status=canonical.Status.running,
        config=request.config,
        created_at=now,
        updated_at=now,
        file=_file_hint(request.document, now),
        metadata=request.metadata,
    )


def _file_hint(document: canonical.Document, now: datetime) -> canonical.FileInfo | None:
    """What is known of the file before it is read (names for listings and filters)."""
    match document:
        case canonical.InlineDocument(data=data, filename=name, mime_type=mime):
            return canonical.FileInfo(
                id=file_id(data), filename=name, mime_type=mime, created_at=now
            )
        case canonical.TextDocument(text=text, filename=name):
            return canonical.FileInfo(
                id=file_id(text.encode()),
                filename=name or "document.txt",
                mime_type="text/plain",
                created_at=now,
            )
        case canonical.UrlDocument(url=url, filename=name):
            filename = name or url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "document"
            return canonical.FileInfo(
                id="", filename=filename, mime_type=guess_mime(filename), created_at=now
            )
        case canonical.StoredFileDocument(file_id=stored_id, filename=name, mime_type=mime):
            return canonical.FileInfo(
                id=stored_id,
                filename=name or "document",
                mime_type=mime or "application/octet-stream",
                created_at=now,
            )
        case canonical.FileRefDocument():
            return None


def _vendor_file(document: canonical.FileRefDocument) -> InvalidRequest:
    """A vendor's file id, which names nothing here (hazard 13), as a 422 naming the field
    in the client's own dialect (Extend `file.id`, Retab FileRef `document.id`)."""
    field = "file.id" if document.vendor == "extend" else "document.id"
    reason = (
        f"{document.file_id} is not a file of this gateway, and the local backend holds no "
        f"{document.vendor.title()} files; upload it to this gateway's Files API first, or "
        "send the document itself"
    )
    problem = canonical.FieldProblem(loc=("body", *field.split(".")), message=reason)
    return InvalidRequest(f"{field}: {reason}", status=422, fields=(problem,))
