"""The comparison report of recorded comparisons, read from the ledger: what `crosswalk
compare` prints and `GET /crosswalk/report` serves, and the pages `GET /crosswalk/comparisons`
lists.

Reads the comparisons of an owner (every owner's for the operator's CLI) page by page, keeping
only the latest 100,000 and only what the figures need (window.py), picks the two backends to
compare (as asked, else the pair most comparisons share) and builds the figures with the
configured prices. No comparisons is an empty report, never an error.

A long history is seconds of work: keeping each page, building the figures and rendering the
page run in a worker thread, so the gateway's event loop serves other requests meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import anyio.to_thread
import msgspec

from gateway.clock import Clock, system_clock
from gateway.compare.figures import DISAGREEMENTS, BackendFigures, Report, build_report
from gateway.compare.render_html import render_html
from gateway.compare.window import LATEST, Window
from gateway.store.comparison_ledger import ComparisonLedger
from gateway.store.comparison_records import ComparisonRecord

PAGE = 1000  # comparisons read from the ledger at once
TITLE = "crosswalk comparison report"


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of comparisons, and the cursor of the next one (None on the last)."""

    records: tuple[ComparisonRecord, ...]
    next: int | None


class Reports:
    """Reports and listings of the comparisons in `ledger`, priced by `prices` (USD per
    credit by backend, as `Settings.prices`: a backend left out has an unknown cost); a
    report covers the `latest` comparisons and lists the latest `shown` disagreements."""

    def __init__(
        self,
        ledger: ComparisonLedger,
        prices: Mapping[str, float],
        *,
        clock: Clock = system_clock,
        latest: int = LATEST,
        shown: int = DISAGREEMENTS,
    ) -> None:
        self._ledger = ledger
        self._prices = dict(prices)
        self._clock = clock
        self._latest = latest
        self._shown = shown

    async def report(
        self,
        owner: str | None,
        *,
        since: datetime | None = None,
        backends: tuple[str, str] | None = None,
    ) -> Report:
        """The report of `owner`'s comparisons (every owner's for None) created from `since`,
        between `backends`, else the pair most of them share."""
        window = Window(latest=self._latest, backends=backends)
        after = 0
        while True:
            found = await self._ledger.comparisons(owner, since=since, after=after, limit=PAGE)
            await anyio.to_thread.run_sync(window.add, found)
            if len(found) < PAGE:
                break
            after = found[-1].seq
        return await anyio.to_thread.run_sync(self._build, window)

    async def page(
        self, owner: str | None, *, since: datetime | None, after: int, limit: int
    ) -> Page:
        """Up to `limit` of `owner`'s comparisons past the cursor `after`, oldest first."""
        found = await self._ledger.comparisons(owner, since=since, after=after, limit=limit + 1)
        records = found[:limit]
        more = len(found) > limit
        return Page(records=records, next=records[-1].seq if more and records else None)

    async def html(self, report: Report) -> str:
        """`report` as the self-contained page, stamped now (rendered in a worker thread)."""
        now = self._clock()
        return await anyio.to_thread.run_sync(
            lambda: render_html(report, title=TITLE, generated_at=now)
        )

    def _build(self, window: Window) -> Report:
        a, b = window.pair()
        # a free backend (local) reports no credits: priced at 0 the figures would read its
        # cost as unknown, while absent they read it as free
        paid = {name: price for name, price in self._prices.items() if price > 0}
        comparisons = window.comparisons(a, b)
        report = build_report(comparisons, a=a, b=b, usd_per_credit=paid, shown=self._shown)
        return msgspec.structs.replace(
            report, a=self._priced(report.a), b=self._priced(report.b), cut=window.cut
        )

    def _priced(self, side: BackendFigures) -> BackendFigures:
        # the figures read a backend missing from the prices as free, but `Settings.prices`
        # leaves out a vendor backend with no `usd_per_credit`: its cost is unknown, not zero
        if side.name in self._prices:
            return side
        return msgspec.structs.replace(side, cost_per_1000_usd=None)


def pair_of(records: Sequence[ComparisonRecord]) -> tuple[str, str]:
    """The backends a report compares when none are asked for: the pair most completed
    comparisons share, else the first comparison's first two sides, else none yet."""
    window = Window()
    window.add(records)
    return window.pair()
