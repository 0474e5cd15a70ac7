"""The values the run ledger stores and returns (design.md §4, §9).

Frozen msgspec Structs over canonical types; no I/O. Imports only the stdlib, msgspec,
`mappings` and the error tree (a record past the per-run bound is refused with a 502).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from gateway.errors import PayloadTooLarge, UpstreamFailed
from mappings import canonical
from mappings.dialects import Dialect

INTERRUPTED = "INTERRUPTED"  # RunError.code of a run whose workers kept going away
# the most the ledger keeps of one canonical run, encoded: a run is kilobytes (its categories,
# decision and metadata), and every listing page loads whole runs, so one vendor answering
# 80 MB of metadata must not land in the ledger (it is refused, not cut: see `bounded`)
MAX_RUN_BYTES = 4 * 1024 * 1024
# what a run adds to the categories and metadata its request gave it (ids, times, decision)
_RUN_OWN_BYTES = 256 * 1024
_encoder = msgspec.json.Encoder()


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One run created through crosswalk, as the ledger keeps it.

    `owner` is `owner_of(client key)`, never the key. `(backend, upstream_id)` is unique;
    `key` is that pair joined, kept for readability and as a stable name. `run` is the last
    canonical run seen; `request` is kept for local background runs still to be processed
    and for the categories table (its document bytes are dropped once the run is terminal).
    `seq` is assigned by the store on insert and only grows, so it breaks `created_at` ties.
    `claimed_by`, `lease_until` and `attempts` belong to the local work queue. `batch_id` is
    the batch the run belongs to (gateway/batch), `batch_input` the input it was made for.
    `comparison` is the comparison a run was made for (a shadow's or a replay's own run):
    such a run is never listed to its owner and raises no webhook event.
    """

    key: str
    owner: str
    backend: str
    upstream_id: str
    surface: Dialect  # the dialect the run was created through
    run: canonical.ClassificationRun
    request: canonical.ClassifyRequest | None
    filename: str
    created_at: datetime
    updated_at: datetime
    seq: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    batch_id: str | None = None
    batch_input: int | None = None
    comparison: str | None = None


class BatchSlot(msgspec.Struct, frozen=True, kw_only=True):
    """The input of a batch a run is made for: recording the run marks the input created."""

    batch_id: str
    index: int


def not_created_id(batch_id: str, index: int) -> str:
    """The id of the failed run standing for a batch input that no backend made a run of."""
    return f"{batch_id}-input-{index}"


def never_created(record: RunRecord) -> bool:
    """Whether the run is one no backend made (a batch input refused): it lives only in the
    ledger, and no backend is asked about it."""
    index = record.batch_input
    return (
        record.batch_id is not None
        and index is not None
        and record.upstream_id == not_created_id(record.batch_id, index)
    )


class ListResult(msgspec.Struct, frozen=True, kw_only=True):
    """One page of an owner's records, in the query's order, and whether more lie either side."""

    records: tuple[RunRecord, ...]
    has_more_after: bool
    has_more_before: bool


class RecoveryReport(msgspec.Struct, frozen=True, kw_only=True):
    """What `Ledger.recover` did with runs whose worker went away."""

    resumed: int  # put back in the queue for another attempt
    failed: int  # out of attempts: failed with code INTERRUPTED
    # running under a lease not yet run out: finished by their worker, or taken again by
    # another once the lease expires (a worker of a process that stopped)
    leased: int = 0


def new_record(
    backend: str,
    run: canonical.ClassificationRun,
    request: canonical.ClassifyRequest | None,
    *,
    surface: Dialect,
    owner: str,
    now: datetime,
    batch: BatchSlot | None = None,
    comparison: str | None = None,
) -> RunRecord:
    """The record of a run just created (for an input of `batch`, or for `comparison`, if
    given); a finished run's document content is not kept."""
    if request is not None and run.status.terminal:
        request = without_document(request)
    return RunRecord(
        key=f"{backend}:{run.id}",
        owner=owner,
        backend=backend,
        upstream_id=run.id,
        surface=surface,
        run=bounded(backend, run),
        request=request,
        filename=_filename(run, request),
        created_at=run.created_at,
        updated_at=now,
        batch_id=None if batch is None else batch.batch_id,
        batch_input=None if batch is None else batch.index,
        comparison=comparison,
    )


class RunTooLarge(UpstreamFailed):
    """A run past `MAX_RUN_BYTES`: not recorded, and the call that brought it fails (502)."""


def bounded(backend: str, run: canonical.ClassificationRun) -> canonical.ClassificationRun:
    """`run`, if the ledger may keep it. Refused whole rather than cut, so that no record is
    silently missing part of what its backend said; the request's own parts are bounded by
    the server's body limit, and its document is dropped once the run has finished."""
    size = len(_encoder.encode(run))
    if size > MAX_RUN_BYTES:
        raise RunTooLarge(
            f"Backend {backend} answered a run of {size} bytes; the ledger keeps at most "
            f"{MAX_RUN_BYTES} bytes per run, so it was not recorded.",
            retryable=False,
        )
    return run


def check_recordable(request: canonical.ClassifyRequest) -> None:
    """Refuse, before any backend sees it, a request whose run could not be recorded: its
    categories and metadata are echoed in the run, and a run past `MAX_RUN_BYTES` is refused
    after the backend made it, which for a vendor would leave a run nobody knows of."""
    size = len(_encoder.encode(request.config)) + len(_encoder.encode(request.metadata))
    if size > MAX_RUN_BYTES - _RUN_OWN_BYTES:
        raise PayloadTooLarge(
            f"The request's categories and metadata take {size} bytes; a run keeps at most "
            f"{MAX_RUN_BYTES - _RUN_OWN_BYTES} bytes of them."
        )


def _filename(run: canonical.ClassificationRun, request: canonical.ClassifyRequest | None) -> str:
    if run.file is not None:
        return run.file.filename
    if request is None:
        return ""
    match request.document:
        case canonical.InlineDocument(filename=name):
            return name
        case (
            canonical.UrlDocument(filename=name)
            | canonical.TextDocument(filename=name)
            | canonical.FileRefDocument(filename=name)
            | canonical.StoredFileDocument(filename=name)
        ):
            return name or ""


def without_document(request: canonical.ClassifyRequest) -> canonical.ClassifyRequest:
    """The request minus its document's content: a finished run needs its categories only."""
    doc = request.document
    if isinstance(doc, canonical.InlineDocument) and doc.data:
        return msgspec.structs.replace(request, document=msgspec.structs.replace(doc, data=b""))
    if isinstance(doc, canonical.TextDocument) and doc.text:
        return msgspec.structs.replace(request, document=msgspec.structs.replace(doc, text=""))
    return request


def with_run(record: RunRecord, run: canonical.ClassificationRun, now: datetime) -> RunRecord:
    """The record after a newer canonical run; a terminal one ends the lease and drops the
    document's content (the worker that held it stays in `claimed_by`, for the record)."""
    terminal = run.status.terminal
    request = record.request
    return msgspec.structs.replace(
        record,
        run=bounded(record.backend, run),
        request=without_document(request) if terminal and request is not None else request,
        filename=run.file.filename if run.file is not None else record.filename,
        updated_at=now,
        lease_until=None if terminal else record.lease_until,
    )


def with_status(
    record: RunRecord, status: canonical.Status, now: datetime, error: canonical.RunError | None
) -> RunRecord:
    """The record with its run moved to `status` by the ledger itself."""
    run = msgspec.structs.replace(
        record.run, status=status, updated_at=now, error=error or record.run.error
    )
    return with_run(record, run, now)


def claimed(record: RunRecord, worker: str, lease_until: datetime, now: datetime) -> RunRecord:
    """The record taken by `worker` for one more attempt."""
    running = with_status(record, canonical.Status.running, now, None)
    return msgspec.structs.replace(
        running, claimed_by=worker, lease_until=lease_until, attempts=record.attempts + 1
    )


def requeued(record: RunRecord, now: datetime) -> RunRecord:
    """The record back in the queue after its worker went away."""
    queued = with_status(record, canonical.Status.queued, now, None)
    return msgspec.structs.replace(queued, claimed_by=None, lease_until=None)


def interrupted(record: RunRecord, now: datetime) -> RunRecord:
    """The record failed for good after its workers went away `attempts` times."""
    error = canonical.RunError(
        code=INTERRUPTED,
        message=(
            f"The run was interrupted {record.attempts} times before it could finish "
            "and will not be retried."
        ),
        details={"attempts": record.attempts},
    )
    return with_status(record, canonical.Status.failed, now, error)


class RunSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A run as it was when it reached a terminal status: the `data` of a 'run' event, from
    which a webhook payload is rendered in Extend's shape whichever surface made the run."""

    backend: str
    upstream_id: str
    surface: Dialect
    owner: str
    run: canonical.ClassificationRun
    batch_id: str | None = None


EventKind = Literal["run", "batch", "raw"]


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event to put in the webhook outbox.

    `kind` says what `data` holds: 'run' a `RunSnapshot`, 'batch' a BatchRun as Extend
    renders it, 'raw' an Extend event payload relayed as it came. `subject` names what the
    event is about (a run's key, a batch id); `event_id` is given only for a relayed event,
    whose id is kept so the same event relayed twice is raised once."""

    event_type: str
    kind: EventKind
    owner: str
    subject: str
    data: bytes
    event_id: str | None = None


DeliveryState = Literal["pending", "delivered", "dead"]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event owed to one webhook endpoint, and how its delivery is going.

    `since` starts the delivery's retry window: when the event was raised, or when an
    operator last asked for it to be retried. `attempts` counts the claims made of it."""

    event_seq: int
    event_id: str
    event_type: str
    kind: EventKind
    owner: str
    subject: str
    data: bytes
    endpoint: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    since: datetime
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
