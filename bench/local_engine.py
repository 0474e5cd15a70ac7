"""Throughput of the offline local classifier on the fixture corpus, in one process on one core.

Times three things over every `fixtures/corpus/doc_*.*` document: text extraction alone
(`extract_text`), classification alone on the already extracted text (`classify`, one vote,
no instructions, the categories of `categories.json`), and both together (the full local
engine path, without fetching or storing). Each runs for several rounds over the corpus after
a warm-up round; the median round is reported as documents per second, overall and per file
type. Also reported: the mean page count, the accuracy against `labels.json`, and the
classifier's rate normalised to two-page documents (docs/s x mean pages / 2), against a
target of 200 two-page documents/s, next to the same figure with extraction included (PDF
parsing, by pypdf, dominates that one). The process pins itself to one CPU where the OS allows.

Run from the repository root:

    python -m bench.local_engine
"""

from __future__ import annotations

import json
import mimetypes
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from gateway.backends.local.classifier import Classified, classify
from gateway.backends.local.extract import Extracted, extract_text
from mappings import canonical

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
ROUNDS = 5
TARGET = 200.0  # two-page documents per second on one core, for the classifier
T = TypeVar("T")


class Document(NamedTuple):
    name: str
    data: bytes
    mime_type: str


def load_documents() -> list[Document]:
    """Every `doc_*.*` file of the corpus, with the MIME type its extension suggests."""
    return [
        Document(p.name, p.read_bytes(), mimetypes.guess_type(p.name)[0] or "")
        for p in sorted(CORPUS.glob("doc_*.*"))
    ]


def load_categories() -> list[canonical.Category]:
    entries = json.loads((CORPUS / "categories.json").read_text(encoding="utf-8"))
    return [
        canonical.Category(key=e["key"], name=e["name"], description=e.get("description", ""))
        for e in entries
    ]


def load_labels() -> dict[str, str]:
    return dict(json.loads((CORPUS / "labels.json").read_text(encoding="utf-8")))


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def rate(items: Sequence[T], work: Callable[[T], object]) -> float:
    """Documents per second: median over ROUNDS rounds of the corpus, after a warm-up round."""
    rates: list[float] = []
    for round_no in range(ROUNDS + 1):
        start = time.perf_counter_ns()
        for item in items:
            work(item)
        elapsed = time.perf_counter_ns() - start
        if round_no:
            rates.append(len(items) * 1e9 / elapsed)
    return statistics.median(rates)


def verdict(ok: bool) -> str:
    return "target met" if ok else "target missed"


class Engine:
    """The local engine's two steps over one set of categories, as the runner calls them."""

    def __init__(self, categories: list[canonical.Category]) -> None:
        self.categories = categories

    def extract(self, doc: Document) -> Extracted:
        return extract_text(doc.data, mime_type=doc.mime_type, filename=doc.name, pages=())

    def decide(self, text: str) -> Classified:
        return classify(text, self.categories, instructions=None, votes=1)

    def full(self, doc: Document) -> Classified:
        return self.decide(self.extract(doc).text)


def main() -> None:
    where = pin_to_one_core()
    docs = load_documents()
    engine = Engine(load_categories())
    extracted = [engine.extract(doc) for doc in docs]
    rates = {
        "extract": rate(docs, engine.extract),
        "classify": rate([e.text for e in extracted], engine.decide),
        "extract+classify": rate(docs, engine.full),
    }
    print(f"{len(docs)} documents, {len(engine.categories)} categories, {ROUNDS} rounds, {where}")
    print(f"{'stage':<18}  {'docs/s':>9}  {'ms/doc':>7}")
    for stage, per_second in rates.items():
        print(f"{stage:<18}  {per_second:>9.1f}  {1000 / per_second:>7.3f}")
    report_kinds(docs, engine)
    report_target(rates["classify"], rates["extract+classify"], extracted)
    report_accuracy(docs, [engine.decide(e.text) for e in extracted], load_labels())


def report_kinds(docs: list[Document], engine: Engine) -> None:
    """The extract+classify rate of each file type, since PDFs cost far more than text."""
    print(f"\n{'type':<18}  {'docs':>4}  {'docs/s':>9}  {'ms/doc':>7}")
    for suffix in sorted({Path(d.name).suffix for d in docs}):
        group = [d for d in docs if d.name.endswith(suffix)]
        per_second = rate(group, engine.full)
        print(f"{suffix:<18}  {len(group):>4}  {per_second:>9.1f}  {1000 / per_second:>7.3f}")


def report_target(classify_rate: float, full_rate: float, extracted: list[Extracted]) -> None:
    pages = statistics.mean(e.page_count for e in extracted)
    two_page = classify_rate * pages / 2
    print(f"\nmean pages per document: {pages:.2f}")
    print(f"two-page documents/s, classifier: {two_page:.1f}")
    print(f"two-page documents/s, with extraction: {full_rate * pages / 2:.1f}")
    print(
        f"classifier ≥ {TARGET:g} two-page documents/s on one core: {verdict(two_page >= TARGET)}"
    )


def report_accuracy(
    docs: list[Document], results: list[Classified], labels: dict[str, str]
) -> None:
    """Share of labelled documents whose decision is their label; lists the misses."""
    got = {d.name: r.decision.category_key for d, r in zip(docs, results, strict=True)}
    scored = [name for name in got if name in labels]
    wrong = [name for name in scored if got[name] != labels[name]]
    right = len(scored) - len(wrong)
    print(f"accuracy: {right}/{len(scored)} labelled documents = {right / max(1, len(scored)):.1%}")
    for name in wrong:
        print(f"  wrong: {name}: labelled {labels[name]}, classified {got[name]}")


if __name__ == "__main__":
    main()
