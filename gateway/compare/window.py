"""The comparisons a report is built from, kept compact and bounded while the ledger is read
page by page: a report of a long history must not hold every record it read.

Each completed comparison is kept as its document, its expected label and each side's
`Answer`, the reasoning dropped unless the sides disagree (only a disagreement shows it). Only
the latest `latest` (100,000) are kept, counting how many were recorded, so the report can say
it covers "the latest 100,000 of M". Pure: stdlib, msgspec and the store's records.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec

from gateway.compare import formats
from gateway.compare.figures import Cut
from gateway.compare.from_ledger import answer_of, usual_pair_of
from gateway.compare.records import Answer, Comparison
from gateway.store.comparison_records import ComparisonRecord

LATEST = 100_000  # comparisons a report covers at most: the latest recorded
NO_BACKEND = formats.MISSING  # a side's name when nothing was compared yet


class Kept(msgspec.Struct, frozen=True, kw_only=True):
    """One completed comparison as a report needs it."""

    document: str
    expected: str | None
    answers: tuple[tuple[str, Answer], ...]  # each side's backend and answer, primary first

    def of(self, a: str, b: str) -> Comparison | None:
        """The comparison of backend `a` with `b`; None when it lacks either side."""
        answers = dict(self.answers)
        if a not in answers or b not in answers:
            return None
        return Comparison(
            document=self.document, a=answers[a], b=answers[b], expected=self.expected
        )


class Window:
    """The latest completed comparisons read, between `backends` when given (else any)."""

    def __init__(self, *, latest: int = LATEST, backends: tuple[str, str] | None = None) -> None:
        self._kept: deque[Kept] = deque(maxlen=max(latest, 1))
        self._backends = backends
        self._recorded = 0
        self._first: tuple[str, str] | None = None  # the first comparison's first two sides

    def add(self, records: Iterable[ComparisonRecord]) -> None:
        """Keep the completed ones of `records` (read oldest first), dropping the oldest kept
        past `latest`."""
        for record in records:
            if self._first is None and len(record.sides) >= 2:
                self._first = (record.sides[0].backend, record.sides[1].backend)
            if not record.completed:
                continue
            if self._backends is not None:
                names = {side.backend for side in record.sides}
                if not names.issuperset(self._backends):
                    continue
            self._recorded += 1
            self._kept.append(kept_of(record))

    def pair(self) -> tuple[str, str]:
        """The backends asked for, else the pair most kept comparisons share, else the first
        comparison's first two sides, else none yet."""
        if self._backends is not None:
            return self._backends
        usual = usual_pair_of(tuple(name for name, _ in kept.answers) for kept in self._kept)
        return usual or self._first or (NO_BACKEND, NO_BACKEND)

    def comparisons(self, a: str, b: str) -> list[Comparison]:
        """The kept comparisons of `a` with `b`, oldest first."""
        pairs = (kept.of(a, b) for kept in self._kept)
        return [pair for pair in pairs if pair is not None]

    @property
    def cut(self) -> Cut | None:
        """How much was left out: None when every comparison read is kept."""
        if self._recorded <= len(self._kept):
            return None
        return Cut(latest=len(self._kept), recorded=self._recorded)


def kept_of(record: ComparisonRecord) -> Kept:
    """The completed `record`, compact: reasoning only where the sides' labels differ."""
    answers = [(side.backend, answer_of(side, record.categories)) for side in record.sides]
    labels = {answer.label for _, answer in answers if answer.answered}
    if len(labels) < 2:
        answers = [(name, _without_reasoning(answer)) for name, answer in answers]
    return Kept(
        document=record.filename or record.document,
        expected=record.expected,
        answers=tuple(answers),
    )


def _without_reasoning(answer: Answer) -> Answer:
    if answer.reasoning is None:
        return answer
    return msgspec.structs.replace(answer, reasoning=None)
