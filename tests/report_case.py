"""The comparison report's browser case (tests/test_report_browser.py), as the report's
inputs and as the ledger's records a shadow of extend by retab would leave.

Extend (side a) against retab (b) over 40 documents, each with an expected label:

    32 agree: 12 invoice, 8 receipt, 6 contract, 6 letter
     6 disagree (extend, retab): invoice/receipt twice, receipt/invoice, contract/letter,
       letter/contract, invoice/contract
     2 fail on one side: extend's run fails on receipt-010.pdf; retab answers nothing on
       letter-008.pdf (its side fails before any run)

Compared 38, agreeing 32: agreement 32/38 = 84.2 %.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.compare.records import Answer, Comparison
from gateway.store.comparison_records import ComparisonRecord, SideRecord
from gateway.store.sqlite import SqliteLedger
from mappings import canonical
from tests.comparison_support import store

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BACKENDS = ("extend", "retab")

AGREEING = {"invoice": 12, "receipt": 8, "contract": 6, "letter": 6}
# document, extend's label, retab's label, expected, extend's reasoning, retab's reasoning
DISAGREEING = [
    (
        "invoice-013.pdf",
        "invoice",
        "receipt",
        "invoice",
        "Itemised amounts with 'Amount due' and payment terms of 30 days.",
        "States a total paid in EUR and a transaction reference.",
    ),
    (
        "invoice-014.pdf",
        "invoice",
        "receipt",
        "receipt",
        "Has an invoice number and a VAT breakdown.",
        "Marked 'PAID' with the card's last four digits.",
    ),
    (
        "receipt-009.pdf",
        "receipt",
        "invoice",
        "receipt",
        "Thanks the customer for a payment already made.",
        "Lists line items, quantities and unit prices.",
    ),
    (
        "contract-007.pdf",
        "contract",
        "letter",
        "contract",
        "Two parties, clauses and signature blocks.",
        "Opens with 'Dear Ms Smith' and closes 'Sincerely'.",
    ),
    (
        "letter-007.pdf",
        "letter",
        "contract",
        "letter",
        "A personal letter confirming a meeting.",
        "Mentions an agreement and the parties' obligations.",
    ),
    (
        "invoice-015.pdf",
        "invoice",
        "contract",
        "invoice",
        "Bill for services rendered under a framework agreement.",
        "Refers to the terms of a master services agreement.",
    ),
]
# document, extend's label, retab's label (None: that side failed), expected
ONE_SIDED = [
    ("receipt-010.pdf", None, "receipt", "receipt"),
    ("letter-008.pdf", "letter", None, "letter"),
]
PRICES = {"extend": 0.01, "retab": 0.04}


def _answer(
    label: str | None, i: int, *, base: float, spread: int, credits: float, reasoning: str = ""
) -> Answer:
    # latencies and confidences spread out, the same on every run
    latency = base + (i * 37) % spread
    if label is None:
        return Answer(label=None, latency_ms=latency, failed=True, error="upstream 503")
    confidence = 0.45 + ((i * spread // 100) % 55) / 100
    return Answer(
        label=label,
        latency_ms=latency,
        confidence=confidence,
        credits=credits,
        reasoning=reasoning or None,
    )


def _pair(
    i: int, document: str, a: str | None, b: str | None, expected: str, why: tuple[str, str]
) -> Comparison:
    return Comparison(
        document=document,
        a=_answer(a, i, base=900.0, spread=700, credits=1.0, reasoning=why[0]),
        b=_answer(b, i, base=1400.0, spread=1100, credits=0.5, reasoning=why[1]),
        expected=expected,
    )


def comparisons() -> list[Comparison]:
    rows: list[tuple[str, str | None, str | None, str, tuple[str, str]]] = []
    for label, count in AGREEING.items():
        rows += [
            (f"{label}-{n:03d}.pdf", label, label, label, ("", "")) for n in range(1, count + 1)
        ]
    rows += [
        (doc, a, b, expected, (why_a, why_b)) for doc, a, b, expected, why_a, why_b in DISAGREEING
    ]
    rows += [(doc, a, b, expected, ("", "")) for doc, a, b, expected in ONE_SIDED]
    return [_pair(i, *row) for i, row in enumerate(rows)]


CATEGORIES = tuple(
    canonical.Category(key=key, name=key.title(), description=f"{key.title()} documents")
    for key in sorted(AGREEING)
)


def records(owner: str) -> list[ComparisonRecord]:
    """The case as completed shadow comparisons of `owner`, one a minute."""
    found = []
    for i, pair in enumerate(comparisons()):
        at = START + timedelta(minutes=i)
        sides = tuple(
            _side(backend, f"{backend}-{i:03d}", answer, at)
            for backend, answer in zip(BACKENDS, (pair.a, pair.b), strict=True)
        )
        found.append(
            ComparisonRecord(
                id=f"cmp_{i:03d}",
                owner=owner,
                source="shadow",
                document=f"{i:064x}",
                categories=CATEGORIES,
                created_at=at,
                sides=sides,
                filename=pair.document,
                expected=pair.expected,
                completed_at=at + timedelta(seconds=5),
            )
        )
    return found


async def seed(path: str, owner: str) -> None:
    """Record the case in the ledger at `path` as the shadow would."""
    async with await SqliteLedger.open(path) as ledger:
        for record in records(owner):
            await store(ledger, record)


def _side(backend: str, run_id: str, answer: Answer, at: datetime) -> SideRecord:
    finished = at + timedelta(milliseconds=answer.latency_ms)
    # the primary (extend) fails with a run of its own; the shadow (retab) before making one
    run = None if answer.label is None and backend != BACKENDS[0] else _run(run_id, answer, at)
    return SideRecord(
        backend=backend,
        started_at=at,
        upstream_id=None if run is None else run.id,
        finished_at=finished,
        error=answer.error if run is None else None,
        run=run,
    )


def _run(run_id: str, answer: Answer, at: datetime) -> canonical.ClassificationRun:
    decision = None
    if answer.label is not None:
        decision = canonical.Decision(
            category_key=answer.label,
            category_name=answer.label.title(),
            confidence=answer.confidence,
            reasoning=answer.reasoning or "",
        )
    failed = answer.label is None
    return canonical.ClassificationRun(
        id=run_id,
        status=canonical.Status.failed if failed else canonical.Status.completed,
        config=canonical.RunConfig(categories=CATEGORIES),
        created_at=at,
        decision=decision,
        usage=None if answer.credits is None else canonical.Usage(credits=answer.credits),
        error=canonical.RunError(code="failed", message=answer.error or "") if failed else None,
    )
