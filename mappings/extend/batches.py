"""Extend batch runs (contracts.md §5): a batch create body read as one `/classify_runs` body
per input, and a canonical batch as Extend's `BatchRun`.

A batch is a saved classifier and 1 to 1,000 inputs; an inline `config` is refused, as Extend
refuses it. Each input becomes exactly the body a client would send to `POST /classify_runs`
(`{file, classifier, metadata, priority}`), so it is read and created as that body is. A
refusal names the input by its index (`inputs[7].file`).
Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mappings import canonical
from mappings.errors import InvalidInput, TranslationError
from mappings.extend.catalog import BatchInput, BatchRun
from mappings.extend.common import format_timestamp, parse_timestamp
from mappings.extend.wire import ClassifierReference, ClassifyRunCreateRequest, ExtendWire
from mappings.nesting import JsonDecoder
from mappings.shared import given

BATCH_PATH = "/classify_runs/batch"
BATCH_RUNS_PATH = "/batch_runs"
MAX_BATCH_INPUTS = 1000  # contracts.md §5
BATCH_ID_PREFIX = "bpr_"
BATCH_SOURCE = "BATCH_PROCESSOR_RUN"  # a batch's runs' `source` in a listing's filter
NO_INLINE_CONFIG = (
    "A batch runs a saved classifier: reference one with `classifier`; inline `config` is "
    "not allowed."
)
STATUS_FROM_CANONICAL = {
    canonical.BatchStatus.pending: "PENDING",
    canonical.BatchStatus.processing: "PROCESSING",
    canonical.BatchStatus.processed: "PROCESSED",
    canonical.BatchStatus.failed: "FAILED",
    canonical.BatchStatus.cancelled: "CANCELLED",
}
STATUS_TO_CANONICAL = {wire: status for status, wire in STATUS_FROM_CANONICAL.items()}


class BatchCreateBody(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """A client's `POST /classify_runs/batch` body (`BatchCreateRequest` as a client may send
    it). Unknown keys are rejected; `config` is read only to be refused by name, and a missing
    `classifier` is refused by `batch_to_creates`, so both errors say what to do."""

    classifier: ClassifierReference | UnsetType | None = UNSET
    config: Any | UnsetType = UNSET
    inputs: tuple[BatchInput, ...]
    priority: int | UnsetType | None = UNSET


def batch_to_creates(body: BatchCreateBody) -> tuple[ClassifyRunCreateRequest, ...]:
    """The `/classify_runs` body each input becomes, in order. Raises InvalidInput naming the
    batch's field at fault; each body is read (and refused by index) with `input_error`."""
    if not isinstance(body.config, UnsetType):
        raise InvalidInput("config", NO_INLINE_CONFIG)
    classifier = given(body.classifier)
    if classifier is None:
        raise InvalidInput("classifier", "Field required: a batch names a saved classifier.")
    if not 1 <= len(body.inputs) <= MAX_BATCH_INPUTS:
        raise InvalidInput(
            "inputs", f"must hold from 1 to {MAX_BATCH_INPUTS} inputs, not {len(body.inputs)}"
        )
    return tuple(
        ClassifyRunCreateRequest(
            file=item.file, classifier=classifier, metadata=item.metadata, priority=body.priority
        )
        for item in body.inputs
    )


def input_error(index: int, exc: TranslationError) -> InvalidInput:
    """A refusal of one input's `/classify_runs` body, naming the input: its own fields are
    under `inputs[i]`, the batch's (`classifier`, `priority`) stay where they are."""
    shared = exc.field.split(".", 1)[0].split("[", 1)[0] in ("classifier", "priority", "config")
    field = exc.field if shared else f"inputs[{index}].{exc.field}"
    return InvalidInput(field, exc.reason)


def named_files(body: bytes) -> tuple[tuple[str | None, str | None], ...]:
    """The `(file.id, file.url)` of each input a batch body names, read leniently (the body
    is judged later); () when it cannot be read."""
    try:
        decoded = _any_decoder.decode(body)
    except msgspec.DecodeError:
        return ()
    items = decoded.get("inputs") if isinstance(decoded, dict) else None
    named = []
    for item in items if isinstance(items, list) else ():
        file = item.get("file") if isinstance(item, dict) else None
        if isinstance(file, dict):
            named.append((_text(file.get("id")), _text(file.get("url"))))
    return tuple(named)


class _ListedRuns(msgspec.Struct):
    data: list[msgspec.Raw]


def listed_runs(content: bytes) -> tuple[bytes, ...]:
    """Each run's JSON in a `GET /classify_runs` page, as the vendor sent it, to be read one
    by one (a run that cannot be read does not hide the others); () for an unreadable page."""
    try:
        page = _listed_runs_decoder.decode(content)
    except msgspec.DecodeError:
        return ()
    return tuple(bytes(item) for item in page.data)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def batch_to_canonical(run: BatchRun, *, received_at: datetime) -> canonical.Batch:
    """An Extend `BatchRun` as canonical; an unknown status reads as still processing."""
    created = given(run.created_at)
    return canonical.Batch(
        id=run.id,
        status=STATUS_TO_CANONICAL.get(run.status, canonical.BatchStatus.processing),
        run_count=run.run_count,
        created_at=received_at if created is None else _timestamp(created, received_at),
    )


def accepted_batch(content: bytes, *, received_at: datetime) -> canonical.Batch | None:
    """The batch in a vendor's answer to a batch create, read as leniently as its id allows:
    a batch the vendor accepted must be recorded even if the rest of its answer is odd (no
    `runCount`: 0; an unknown status: processing); None with no string `id`."""
    try:
        decoded = _any_decoder.decode(content)
    except msgspec.DecodeError:
        return None
    fields = decoded if isinstance(decoded, dict) else {}
    batch_id, status, runs = fields.get("id"), fields.get("status"), fields.get("runCount")
    if not isinstance(batch_id, str):
        return None
    created = _text(fields.get("createdAt"))
    return canonical.Batch(
        id=batch_id,
        status=STATUS_TO_CANONICAL.get(_text(status) or "", canonical.BatchStatus.processing),
        run_count=runs if isinstance(runs, int) and not isinstance(runs, bool) else 0,
        created_at=received_at if created is None else _timestamp(created, received_at),
    )


def _timestamp(value: str, fallback: datetime) -> datetime:
    try:
        return parse_timestamp(value, field="createdAt")
    except TranslationError:
        return fallback


def batch_from_canonical(batch: canonical.Batch) -> BatchRun:
    """A canonical batch as Extend's `BatchRun`."""
    return BatchRun(
        id=batch.id,
        status=STATUS_FROM_CANONICAL[batch.status],
        run_count=batch.run_count,
        created_at=format_timestamp(batch.created_at),
    )


def source_keeps(params: Mapping[str, str], batch_id: str) -> bool:
    """Whether a listing's `source` and `sourceId` keep the runs of batch `batch_id` (a
    `batchId` listing): in Extend's model a batch's runs have source `BATCH_PROCESSOR_RUN`
    and the batch's id as sourceId, so `source=API` or another id selects none of them."""
    source, source_id = params.get("source"), params.get("sourceId")
    return source in (None, "", BATCH_SOURCE) and source_id in (None, "", batch_id)


def batch_not_found_message(batch_id: str) -> str:
    """Extend's 404 message for an unknown batch run, worded as for a classify run."""
    return f"Batch run {batch_id} not found."


batch_body_decoder = JsonDecoder(BatchCreateBody)
_any_decoder = JsonDecoder(object)
_listed_runs_decoder = JsonDecoder(_ListedRuns)
