"""The ledger's interface for A/B comparisons (gateway/compare, the shadow and replay): what
the shadow, `crosswalk replay`, `crosswalk compare` and the `/crosswalk` endpoints need from
any store; `SqliteLedger` implements it beside `Ledger`. Re-exported by `gateway.store.base`.
Imports only the stdlib and `gateway.store` records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gateway.store.comparison_records import ComparisonRecord


class DuplicateComparison(Exception):
    """A comparison with this id is already recorded (a replay resuming finds it instead)."""


class ComparisonLedger(Protocol):
    """Comparisons of backends, each finished in the write that finishes its last side.

    A side's run is linked by (backend, upstream_id): the primary side's at insert, a
    comparison's own run by `Ledger.insert` of a record whose `comparison` names it (the side
    of that backend, in the same write). When a linked run is saved terminal (by any path:
    a worker, the refresher, a poll, recovery) its side is finished then, keeping a copy of
    the run, and the comparison completed (at its last side's end) if it was the last; when
    it is deleted before it ended, its side fails as "deleted". Only a run of the
    comparison's owner is ever its side's run. A comparison's own run recorded for a side
    that failed before it had one reopens that side.
    """

    async def insert_comparison(self, comparison: ComparisonRecord) -> ComparisonRecord:
        """Record a new comparison and its sides; returns it as stored (`seq` assigned, a side
        whose linked run is already terminal finished at that run's `updated_at`, and the
        comparison completed if every side is). Raises DuplicateComparison."""
        ...

    async def fail_side(self, comparison_id: str, backend: str, error: str, now: datetime) -> bool:
        """Finish a side that failed before its backend made a run; False, writing nothing,
        if the side is unknown, has a run, or is finished already."""
        ...

    async def restart_side(self, comparison_id: str, backend: str, now: datetime) -> bool:
        """Start again at `now` a side that has no run (a resumed replay sends it again): a
        failure is forgotten and the comparison no longer completed; False, writing nothing,
        if the side is unknown or has a run."""
        ...

    async def set_expected(self, comparison_id: str, expected: str | None) -> bool:
        """The comparison's expected label is now `expected`; False if it is unknown."""
        ...

    async def get_comparison(self, owner: str, comparison_id: str) -> ComparisonRecord | None:
        """The owner's comparison with its sides' runs, or None (also another owner's)."""
        ...

    async def comparisons(
        self,
        owner: str | None,
        *,
        since: datetime | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> tuple[ComparisonRecord, ...]:
        """Up to `limit` comparisons, each with its sides' runs, in `seq` order past `after`;
        only `owner`'s (every owner's for None, the operator's CLI), created at or after
        `since` when given."""
        ...

    async def fail_stale_sides(self, started_before: datetime, now: datetime) -> int:
        """Fail every unfinished side that started before `started_before` and will never
        finish: one with no run (its process died before the backend answered) as
        "interrupted", one whose run is no longer in the ledger as "deleted". How many."""
        ...
