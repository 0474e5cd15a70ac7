"""The vendor-neutral model both wire dialects translate to and from (design.md §3).

Frozen, keyword-only msgspec Structs with no wire concerns: no renames, no vendor words in
field names, tuples for sequences. A field only one vendor has is a typed optional field here;
what neither model can express is an `UnsupportedFeature` raised by the mapping.
Imports only the stdlib and msgspec.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

import msgspec

from mappings.dialects import Dialect


class Status(enum.StrEnum):
    """Where a run is in its lifecycle; the last three are terminal."""

    pending = "pending"
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        """True once the run can no longer change."""
        return self in _TERMINAL


_TERMINAL = frozenset({Status.completed, Status.failed, Status.cancelled})


class Model(msgspec.Struct, frozen=True, kw_only=True):
    """Base for canonical values: immutable and keyword-only."""


class Category(Model, frozen=True, kw_only=True):
    """One label a document can be classified as.

    `key` is the stable machine key (Retab `handle_key`, Extend `id`); None when the client
    gave none, so a mapping that needs one must synthesise it and say so. `name` is the
    human label (Retab `name`, Extend `type`).
    """

    key: str | None
    name: str
    description: str = ""


class PageRange(Model, frozen=True, kw_only=True):
    """An inclusive, 1-based range of pages to read."""

    start: int
    end: int


class DocumentBase(Model, frozen=True, kw_only=True, tag_field="kind"):
    """Base of the document union; `kind` tells the variants apart."""


class InlineDocument(DocumentBase, frozen=True, kw_only=True, tag="inline"):
    """Document bytes sent in the request itself (a data URL, or Extend `file.text`)."""

    data: bytes
    filename: str
    mime_type: str


class UrlDocument(DocumentBase, frozen=True, kw_only=True, tag="url"):
    """A document the processor downloads from a URL."""

    url: str
    filename: str | None = None
    password: str | None = None  # unlocks an encrypted PDF (Extend `file.settings.password`)


class TextDocument(DocumentBase, frozen=True, kw_only=True, tag="text"):
    """Plain text given directly, with no file behind it (Extend `file.text`)."""

    text: str
    filename: str | None = None


class FileRefDocument(DocumentBase, frozen=True, kw_only=True, tag="file"):
    """A file already stored at a vendor, by that vendor's file id.

    `vendor` is the dialect whose file store holds it; file ids are never portable across
    vendors (contracts.md §10 hazard 13).
    """

    vendor: Dialect
    file_id: str
    filename: str | None = None
    mime_type: str | None = None


class StoredFileDocument(DocumentBase, frozen=True, kw_only=True, tag="stored"):
    """A file kept in crosswalk's own file store, by its crosswalk id (`mappings.files`).

    A client names one by id (Extend `file.id`, Retab FileRef `id`) or by one of crosswalk's
    own signed download links; each backend reads it from the store in its own way. `filename`
    and `mime_type` are the client's, when it gave them; `password` unlocks an encrypted PDF
    (Extend `file.settings.password` beside a link), else the upload's own password applies.
    """

    file_id: str
    filename: str | None = None
    mime_type: str | None = None
    password: str | None = None


Document = InlineDocument | UrlDocument | TextDocument | FileRefDocument | StoredFileDocument


class ClassifierRef(Model, frozen=True, kw_only=True):
    """A saved classifier referenced by id (Extend `classifier`); the request's own config
    fields, when set, override the saved ones."""

    id: str
    version: str | None = None


class RunConfig(Model, frozen=True, kw_only=True):
    """How a run classifies: shared by the request and the run that echoes it back.

    `model` is the processor name as the client's vendor spells it (Retab `model`, Extend
    `baseProcessor`); mappings translate names between vendors through a `ModelTable`.
    `context`, `multimodal`, `memory` and `parse_config` exist only in Extend.
    """

    categories: tuple[Category, ...]
    model: str | None = None
    model_version: str | None = None
    instructions: str | None = None
    pages: tuple[PageRange, ...] = ()
    consensus: int = 1
    context: str | None = None
    multimodal: bool | None = None
    memory: bool | None = None
    parse_config: dict[str, Any] | None = None


class ClassifyRequest(Model, frozen=True, kw_only=True):
    """A request to classify one document."""

    document: Document
    config: RunConfig
    background: bool = False
    metadata: dict[str, Any] | None = None
    priority: int | None = None
    bust_cache: bool = False
    classifier: ClassifierRef | None = None


class Decision(Model, frozen=True, kw_only=True):
    """The category a run (or one consensus vote) settled on, and why."""

    category_key: str | None
    category_name: str
    confidence: float | None = None  # None when the backend gave none; never guessed here
    reasoning: str = ""


class Usage(Model, frozen=True, kw_only=True):
    """What a run cost, in the units of the backend that ran it (`unit`), never converted."""

    credits: float
    total_credits: float | None = None
    unit: str = "credits"


class RunError(Model, frozen=True, kw_only=True):
    """Why a run failed."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class FileInfo(Model, frozen=True, kw_only=True):
    """The file a run read."""

    id: str
    filename: str
    mime_type: str
    page_count: int | None = None
    created_at: datetime | None = None


class Review(Model, frozen=True, kw_only=True):
    """A human review of a run's answer (Extend only)."""

    edited: bool
    initial: Decision | None = None


class ClassifierInfo(Model, frozen=True, kw_only=True):
    """The saved classifier and version a run used (Extend only)."""

    id: str
    name: str | None = None
    version: str | None = None
    version_id: str | None = None


class ClassificationRun(Model, frozen=True, kw_only=True):
    """One classification as a backend reports it.

    `id` is the backend's own run id; the public id a client sees is made by `mappings.ids`.
    `decision` is the final answer (the reviewed one if reviewed), None until completed.
    `votes` and `agreement` carry consensus: each vote's decision and the winner's share.
    """

    id: str
    status: Status
    config: RunConfig
    created_at: datetime
    file: FileInfo | None = None
    decision: Decision | None = None
    votes: tuple[Decision, ...] = ()
    agreement: float | None = None
    usage: Usage | None = None
    error: RunError | None = None
    updated_at: datetime | None = None
    metadata: dict[str, Any] | None = None
    review: Review | None = None
    classifier: ClassifierInfo | None = None
    dashboard_url: str | None = None
    parse_run_id: str | None = None


Order = Literal["asc", "desc"]
Direction = Literal["after", "before"]


class ListQuery(Model, frozen=True, kw_only=True):
    """Filters and paging of a run listing, in neutral terms.

    `cursor` is an opaque position from a previous page; `direction` says whether to read
    forwards ("after") or backwards ("before") from it.
    """

    limit: int = 10
    order: Order = "desc"  # by creation time
    cursor: str | None = None
    direction: Direction = "after"
    filename: str | None = None  # exact filename
    filename_contains: str | None = None
    status: Status | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    batch_id: str | None = None  # only the runs of this batch


class BatchStatus(enum.StrEnum):
    """Where a batch of runs is: waiting, fanning out or waiting on its runs, or settled (the
    last three); `failed` when it could not be processed at all, `cancelled` when every run
    ended cancelled."""

    pending = "pending"
    processing = "processing"
    processed = "processed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        """True once the batch can no longer change."""
        return self not in (BatchStatus.pending, BatchStatus.processing)


class Batch(Model, frozen=True, kw_only=True):
    """A batch of runs of one saved classifier, one run per input (Extend `BatchRun`)."""

    id: str
    status: BatchStatus
    run_count: int
    created_at: datetime


class RunPage(Model, frozen=True, kw_only=True):
    """One page of a run listing: `before`/`after` are cursors for the adjacent pages."""

    runs: tuple[ClassificationRun, ...]
    before: str | None = None
    after: str | None = None


class FieldProblem(Model, frozen=True, kw_only=True):
    """One invalid input location (`loc` as in `("body", "categories", 0, "name")`)."""

    loc: tuple[str | int, ...]
    message: str
    type: str = "value_error"


class Problem(Model, frozen=True, kw_only=True):
    """An error to show a client, before a dialect renders it.

    `status` is the HTTP status; `code` an UPPER_SNAKE machine code; `retryable` whether
    repeating the same request can succeed; `fields` the locations of invalid input.
    """

    status: int
    code: str
    message: str
    retryable: bool = False
    details: dict[str, Any] | None = None
    fields: tuple[FieldProblem, ...] = ()
