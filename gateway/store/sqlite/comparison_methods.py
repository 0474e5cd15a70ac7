"""`SqlLedger`'s `ComparisonLedger` methods (A/B comparisons), kept beside the ledger's
module: each runs one function of `gateway.store.sqlite.comparisons` on the ledger's
runner."""

from __future__ import annotations

from datetime import datetime

from gateway.store.comparison_records import ComparisonRecord
from gateway.store.sql import LedgerRunner
from gateway.store.sqlite import comparisons, side_restarts


class ComparisonMethods:
    """Implements `ComparisonLedger` for `SqlLedger`, which sets `_threads`."""

    _runner: LedgerRunner

    async def insert_comparison(self, comparison: ComparisonRecord) -> ComparisonRecord:
        return await self._runner.write(comparisons.insert, comparison)

    async def fail_side(self, comparison_id: str, backend: str, error: str, now: datetime) -> bool:
        return await self._runner.write(comparisons.fail_side, comparison_id, backend, error, now)

    async def restart_side(self, comparison_id: str, backend: str, now: datetime) -> bool:
        return await self._runner.write(side_restarts.restart_side, comparison_id, backend, now)

    async def set_expected(self, comparison_id: str, expected: str | None) -> bool:
        return await self._runner.write(side_restarts.set_expected, comparison_id, expected)

    async def get_comparison(self, owner: str, comparison_id: str) -> ComparisonRecord | None:
        return await self._runner.read(comparisons.get, owner, comparison_id)

    async def comparisons(
        self,
        owner: str | None,
        *,
        since: datetime | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> tuple[ComparisonRecord, ...]:
        return await self._runner.read(comparisons.listing, owner, since, after, limit)

    async def fail_stale_sides(self, started_before: datetime, now: datetime) -> int:
        return await self._runner.write(comparisons.fail_stale, started_before, now)
