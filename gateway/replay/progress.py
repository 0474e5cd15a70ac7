"""How far a replay has got: a live progress bar (rich) on a terminal, one plain line per
document otherwise (a log, a CI job, a pipe), so the output reads well in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gateway.compare.from_ledger import label_of
from gateway.store.comparison_records import ComparisonRecord, SideRecord


class Tracker(Protocol):
    """Told of each document as it ends."""

    def done(self, record: ComparisonRecord, *, before: bool) -> None:
        """`record` as the replay left it; `before`: already compared by an earlier replay."""
        ...

    def skipped(self, reason: str) -> None:
        """A document the replay could not send (unreadable, too large); `reason` names it."""
        ...


@contextmanager
def tracking(total: int, out: TextIO) -> Iterator[Tracker]:
    """A tracker of `total` documents writing to `out`: a bar when `out` is a terminal."""
    if out.isatty():
        console = Console(file=out)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            yield _Bar(bar, bar.add_task("replaying", total=total))
    else:
        yield _Lines(total, out)


def outcome(record: ComparisonRecord) -> str:
    """Each side's answer in a few words: `local=invoice, retab=failed (…)`."""
    return ", ".join(f"{side.backend}={_answer(side, record)}" for side in record.sides)


def _answer(side: SideRecord, record: ComparisonRecord) -> str:
    run = side.run
    if not side.finished:
        return "unfinished"
    if run is None:
        return f"failed ({side.error or 'no run'})"
    if run.decision is None:
        return run.status.value
    return label_of(run.decision, record.categories)


class _Bar:
    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar = bar
        self._task = task

    def done(self, record: ComparisonRecord, *, before: bool) -> None:
        self._bar.advance(self._task)

    def skipped(self, reason: str) -> None:
        self._bar.console.print(f"skipped: {escape(reason)}")
        self._bar.advance(self._task)


class _Lines:
    def __init__(self, total: int, out: TextIO) -> None:
        self._total = total
        self._seen = 0
        self._out = out

    def done(self, record: ComparisonRecord, *, before: bool) -> None:
        note = " (compared before)" if before else ""
        self._line(f"{record.filename or record.document}: {outcome(record)}{note}")

    def skipped(self, reason: str) -> None:
        self._line(f"skipped: {reason}")

    def _line(self, text: str) -> None:
        self._seen += 1
        print(f"[{self._seen}/{self._total}] {text}", file=self._out, flush=True)
