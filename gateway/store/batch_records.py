"""The values the ledger keeps of batches of runs (gateway/batch): the batch, and one input
of it as a batch worker claims it. Frozen msgspec Structs; no I/O."""

from __future__ import annotations

from datetime import datetime

import msgspec

from mappings import canonical


class BatchRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One batch, as the ledger keeps it.

    `id` is the batch's public id (`bpr_…`); `owner` scopes it as runs are scoped. A batch
    crosswalk fans out has one input per run, each created on `backend`; a batch relayed to
    an Extend backend has none, and `upstream_id` is the vendor's id for it. `forward` are
    the client headers a same-vendor upstream must see on each of its runs' calls (Extend's
    workspace id), as `CallContext.forward` carries them for a single create.
    """

    id: str
    owner: str
    backend: str
    status: canonical.BatchStatus
    run_count: int
    created_at: datetime
    updated_at: datetime
    upstream_id: str | None = None
    forward: dict[str, str] = msgspec.field(default_factory=dict)
    seq: int = 0

    @property
    def relayed(self) -> bool:
        """Whether the vendor runs the batch itself (crosswalk only relays its calls)."""
        return self.upstream_id is not None

    def canonical(self) -> canonical.Batch:
        """The batch in neutral terms, for a surface to render."""
        return canonical.Batch(
            id=self.id, status=self.status, run_count=self.run_count, created_at=self.created_at
        )


class ClaimedInput(msgspec.Struct, frozen=True, kw_only=True):
    """One input of a batch, leased to a batch worker until it is created or refused.

    `body` is the `/classify_runs` body the input becomes, as JSON; `attempts` counts this
    claim, so a worker that keeps going away leaves an input refused, not retried for ever.
    """

    batch_id: str
    index: int
    owner: str
    backend: str
    body: bytes
    attempts: int
    forward: dict[str, str] = msgspec.field(default_factory=dict)
