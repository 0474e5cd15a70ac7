"""The values the ledger keeps about A/B comparisons (design.md §5, §8): one document sent to
several backends, each backend's side, and when all have answered.

A comparison is made by a shadow (the client's run is the primary side, each `[routing]
shadow` backend one more) or by `crosswalk replay` (every side is the replay's own). A run
made for a comparison (`RunRecord.comparison` set) is never listed to its owner and raises
no webhook event: the client never asked for it. Frozen msgspec Structs; no I/O. Imports only
the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from mappings import canonical

ComparisonSource = Literal["shadow", "replay"]


class SideRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One backend's side of a comparison.

    `upstream_id` is set once the backend accepted a run (for the primary side, from the
    start); `run` is that run as the ledger last recorded it (None before), or once the run
    is deleted, the run as it was when the side finished. A side is finished (`finished_at`
    set) when its run is terminal, when it failed before any run existed, or when its run was
    deleted before it ended (`error` says why: its `run` is None). Latency is `finished_at -
    started_at`.
    """

    backend: str
    started_at: datetime
    upstream_id: str | None = None
    finished_at: datetime | None = None
    error: str | None = None
    run: canonical.ClassificationRun | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class ComparisonRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One document sent to several backends, and what each answered.

    `owner` is `owner_of(client key)`; a comparison is shown only to its owner. `document` is
    the hex of `gateway.routing.document_key` of the document, so the same document is one
    key whichever surface or process sent it. `categories` are the caller's, as the request
    gave them: each side's label is read back into these keys. `sides[0]` is the primary (a
    shadow's client run; a replay's first backend). `completed_at` is set, in the write that
    finishes the last side, once every side is finished. `seq` is assigned by the store on
    insert and only grows (a listing's cursor).
    """

    id: str
    owner: str
    source: ComparisonSource
    document: str
    categories: tuple[canonical.Category, ...]
    created_at: datetime
    sides: tuple[SideRecord, ...]
    filename: str | None = None
    expected: str | None = None  # the label a person gave (replay --expected), in caller keys
    completed_at: datetime | None = None
    seq: int = 0

    @property
    def completed(self) -> bool:
        return self.completed_at is not None
