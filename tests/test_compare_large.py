"""A report of a long history (issue 12 review): reading and building it must not stall the
event loop the gateway serves every other request on, and what it holds is bounded: the
latest comparisons only, and the latest 200 disagreements listed with their count.

The ledger is real and seeded once for the module: 900 shadow comparisons of extend (a) by
local (b) over 250 labels; every third disagrees (300 disagreements), each with a paragraph of
reasoning. Its page is heavy to build (a confusion matrix of 250 x 250 cells), so that a
report built on the event loop stalls it measurably even on a busy machine.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.compare.figures import Report
from gateway.compare.render_table import render_table
from gateway.compare.reports import Reports
from gateway.compare.window import Window
from gateway.store.sqlite import SqliteLedger
from tests.comparison_support import START, comparison, run, side, store

COMPARISONS = 900
REASONING = "The layout, the totals and the wording all point to this category. " * 8
PRICES = {"extend": 0.01, "local": 0.0}
LABELS = 250  # a confusion matrix of 250 x 250 cells: a heavy page to build


def disagrees(i: int) -> bool:
    return i % 3 == 0


async def _seed(path: str) -> None:
    async def one(i: int) -> None:
        at = START + timedelta(seconds=i)
        label = f"kind-{i % LABELS:03}"  # outside the caller's categories: kept as given
        local = f"kind-{(i + 1) % LABELS:03}" if disagrees(i) else label
        await store(
            ledger,
            comparison(
                f"cmp_{i:05}",
                side("extend", run(f"e{i}", key=label, confidence=0.9, credits=2), started_at=at),
                side("local", run(f"l{i}", key=local, reasoning=REASONING), started_at=at),
                filename=f"doc-{i:05}.pdf",
                created_at=at,
            ),
        )

    async with await SqliteLedger.open(path) as ledger:
        for start in range(0, COMPARISONS, 100):  # a hundred at a time keeps the writer busy
            await asyncio.gather(*(one(i) for i in range(start, start + 100)))


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("large") / "ledger.db")
    asyncio.run(_seed(path))
    return path


async def max_lag(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """The longest the event loop was late waking a ticker (every 2 ms) while `work` ran, and
    how long `work` took."""
    done = asyncio.Event()
    worst = 0.0
    started = time.perf_counter()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.002)
            worst = max(worst, time.perf_counter() - before - 0.002)

    ticking = asyncio.create_task(ticker())
    try:
        await work()
    finally:
        took = time.perf_counter() - started
        done.set()
        await ticking
    return worst, took


async def test_a_long_history_does_not_stall_the_event_loop(large: str, tmp_path: Path) -> None:
    """Building the report and its page runs in a worker thread: the loop's longest stall is
    a small part of the time the report takes (built on the loop, it is most of it). The
    empty report's stall is the loop's usual lateness; the best of three runs discounts a
    machine busy with other work. Generous: a third, against 0.1 measured here."""
    async with await SqliteLedger.open(str(tmp_path / "empty.db")) as empty:
        baseline, _ = await max_lag(lambda: _page(Reports(empty, PRICES)))
    async with await SqliteLedger.open(large) as ledger:
        reports = Reports(ledger, PRICES)
        pages: list[str] = []

        async def whole() -> None:
            pages.append(await _page(reports))

        runs = [await max_lag(whole) for _ in range(3)]
    assert 'data-document="doc-00897.pdf"' in pages[0]  # it did build the whole report
    stalled = min((lag - baseline) / took for lag, took in runs)
    assert stalled < 1 / 3, (runs, baseline)


async def _page(reports: Reports) -> str:
    return await reports.html(await reports.report(None))


async def test_the_latest_200_disagreements_are_listed_with_their_count(large: str) -> None:
    """300 disagree: the page lists the latest 200 (by document) and says 300."""
    async with await SqliteLedger.open(large) as ledger:
        reports = Reports(ledger, PRICES)
        report = await reports.report(None)
        page = await reports.html(report)
    assert (report.documents, report.disagreeing, report.cut) == (900, 300, None)
    latest = [f"doc-{i:05}.pdf" for i in range(COMPARISONS) if disagrees(i)][-200:]
    assert [c.document for c in report.disagreements] == latest
    # the page is too large for the tests' HTML parser to read quickly
    assert re.findall(r'<li class="disagreement" data-document="([^"]+)"', page) == latest
    assert "<h2>Disagreements (300)</h2>" in page
    assert "Disagreements: 300 (first 10 of the latest 200 shown)" in render_table(report)


async def test_only_the_latest_comparisons_are_kept_and_the_report_says_so(large: str) -> None:
    """Kept to the latest 600 of 900: the figures are those of the last 600 documents."""
    async with await SqliteLedger.open(large) as ledger:
        report: Report = await Reports(ledger, PRICES, latest=600).report(None)
        page = await Reports(ledger, PRICES).html(report)
    assert report.cut is not None
    assert (report.cut.latest, report.cut.recorded) == (600, 900)
    assert (report.documents, report.disagreeing) == (600, 200)
    assert report.disagreements[0].document == "doc-00300.pdf"
    notice = "The latest 600 of 900 comparisons recorded (older ones left out)."
    assert f'<p class="empty" id="cut">{notice}</p>' in page
    assert notice in render_table(report)


def test_reasoning_is_kept_only_where_the_sides_disagree() -> None:
    """An agreeing document's reasoning is never shown, so the window does not keep it."""
    window = Window()
    window.add(
        [
            comparison(
                f"c{i}",
                side("extend", run(f"e{i}", key="inv", reasoning="extend's why")),
                side("local", run(f"l{i}", key=local, reasoning="local's why")),
            )
            for i, local in enumerate(["inv", "rec"])
        ]
    )
    agreeing, disagreeing = window.comparisons("extend", "local")
    assert (agreeing.a.reasoning, agreeing.b.reasoning) == (None, None)
    assert (disagreeing.a.reasoning, disagreeing.b.reasoning) == ("extend's why", "local's why")
    assert window.cut is None
