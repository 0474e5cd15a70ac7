"""The comparison report of recorded comparisons, read from the ledger: what `crosswalk
compare` prints and `GET /crosswalk/report` serves, and the pages `GET /crosswalk/comparisons`
lists.

Reads every comparison of an owner (every owner's for the operator's CLI) page by page, picks
the two backends to compare (as asked, else the pair most comparisons share) and builds the
figures with the configured prices. No comparisons is an empty report, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

from gateway.clock import Clock, system_clock
from gateway.compare import formats
from gateway.compare.figures import BackendFigures, Report, build_report
from gateway.compare.from_ledger import comparisons_of, usual_pair
from gateway.compare.render_html import render_html
from gateway.store.comparison_ledger import ComparisonLedger
from gateway.store.comparison_records import ComparisonRecord

PAGE = 1000  # comparisons read from the ledger at once
TITLE = "crosswalk comparison report"
NO_BACKEND = formats.MISSING  # a side's name when nothing was compared yet


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of comparisons, and the cursor of the next one (None on the last)."""

    records: tuple[ComparisonRecord, ...]
    next: int | None


class Reports:
    """Reports and listings of the comparisons in `ledger`, priced by `prices` (USD per
    credit by backend, as `Settings.prices`: a backend left out has an unknown cost)."""

    def __init__(
        self,
        ledger: ComparisonLedger,
        prices: Mapping[str, float],
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._ledger = ledger
        self._prices = dict(prices)
        self._clock = clock

    async def report(
        self,
        owner: str | None,
        *,
        since: datetime | None = None,
        backends: tuple[str, str] | None = None,
    ) -> Report:
        """The report of `owner`'s comparisons (every owner's for None) created from `since`,
        between `backends`, else the pair most of them share."""
        records = await self._all(owner, since)
        a, b = backends or pair_of(records)
        # a free backend (local) reports no credits: priced at 0 the figures would read its
        # cost as unknown, while absent they read it as free
        paid = {name: price for name, price in self._prices.items() if price > 0}
        report = build_report(comparisons_of(records, a, b), a=a, b=b, usd_per_credit=paid)
        return msgspec.structs.replace(report, a=self._priced(report.a), b=self._priced(report.b))

    async def page(
        self, owner: str | None, *, since: datetime | None, after: int, limit: int
    ) -> Page:
        """Up to `limit` of `owner`'s comparisons past the cursor `after`, oldest first."""
        found = await self._ledger.comparisons(owner, since=since, after=after, limit=limit + 1)
        records = found[:limit]
        more = len(found) > limit
        return Page(records=records, next=records[-1].seq if more and records else None)

    def html(self, report: Report) -> str:
        """`report` as the self-contained page, stamped now."""
        return render_html(report, title=TITLE, generated_at=self._clock())

    async def _all(self, owner: str | None, since: datetime | None) -> list[ComparisonRecord]:
        records: list[ComparisonRecord] = []
        after = 0
        while True:
            page = await self._ledger.comparisons(owner, since=since, after=after, limit=PAGE)
            records += page
            if len(page) < PAGE:
                return records
            after = page[-1].seq

    def _priced(self, side: BackendFigures) -> BackendFigures:
        # the figures read a backend missing from the prices as free, but `Settings.prices`
        # leaves out a vendor backend with no `usd_per_credit`: its cost is unknown, not zero
        if side.name in self._prices:
            return side
        return msgspec.structs.replace(side, cost_per_1000_usd=None)


def pair_of(records: Sequence[ComparisonRecord]) -> tuple[str, str]:
    """The backends a report compares when none are asked for: the pair most completed
    comparisons share, else the first comparison's first two sides, else none yet."""
    pair = usual_pair(records)
    if pair is not None:
        return pair
    for record in records:
        if len(record.sides) >= 2:
            return record.sides[0].backend, record.sides[1].backend
    return NO_BACKEND, NO_BACKEND
