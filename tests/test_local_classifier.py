"""The local backend's zero-shot classifier: accurate on the labelled corpus, deterministic,
and honest about its evidence and its confidence."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import msgspec
import pytest

from gateway.backends.local.classifier import classify
from gateway.backends.local.extract import extract_text
from mappings import canonical

CORPUS = Path(__file__).parent.parent / "fixtures" / "corpus"
LABELS: dict[str, str] = msgspec.json.decode((CORPUS / "labels.json").read_bytes())
CATEGORIES = tuple(
    canonical.Category(key=c["key"], name=c["name"], description=c["description"])
    for c in msgspec.json.decode((CORPUS / "categories.json").read_bytes())
)
MIN_ACCURACY = 0.90


def _text(name: str) -> str:
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return extract_text((CORPUS / name).read_bytes(), mime_type=mime, filename=name).text


def _answer(name: str) -> str | None:
    return classify(_text(name), CATEGORIES).decision.category_key


def test_the_corpus_is_large_varied_and_fully_labelled() -> None:
    """At least 40 documents, every one labelled, in every supported format, PDFs included."""
    documents = sorted(p.name for p in CORPUS.glob("doc_*.*"))
    assert len(documents) >= 40
    assert sorted(LABELS) == documents
    assert {Path(d).suffix for d in documents} >= {".txt", ".md", ".html", ".json", ".csv", ".pdf"}
    assert set(LABELS.values()) == {c.key for c in CATEGORIES}


def test_accuracy_on_the_labelled_corpus() -> None:
    """At least 90 % of the corpus gets its label, with the corpus's own category set."""
    wrong = {name: got for name, label in LABELS.items() if (got := _answer(name)) != label}
    accuracy = 1 - len(wrong) / len(LABELS)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.1%}; wrong: {wrong}"


def test_accuracy_on_pdfs_alone() -> None:
    """PDFs, read through their text layer, are classified as well as the rest."""
    pdfs = [name for name in LABELS if name.endswith(".pdf")]
    assert len(pdfs) >= 5
    right = sum(_answer(name) == LABELS[name] for name in pdfs)
    assert right / len(pdfs) >= MIN_ACCURACY - 0.1


def test_same_input_same_answer() -> None:
    """The classifier is deterministic: two calls give identical decisions."""
    text = _text("doc_001.txt")
    assert classify(text, CATEGORIES) == classify(text, CATEGORIES)


def test_reasoning_names_the_evidence_found() -> None:
    """The reasoning quotes phrases that really occur in the document, and the winner's name."""
    text = _text("doc_001.txt")
    decision = classify(text, CATEGORIES).decision
    assert decision.category_name in decision.reasoning
    quoted = decision.reasoning.split('"')[3::2]  # the phrases after the category's name
    assert quoted
    assert any(phrase.split()[0].lower() in text.lower() for phrase in quoted)


def test_confidence_follows_the_margin() -> None:
    """A clear document reads as confident; one with no evidence gets a uniform share."""
    clear = classify(_text("doc_001.txt"), CATEGORIES).decision.confidence
    vague = classify("Lorem ipsum dolor sit amet.", CATEGORIES).decision
    assert clear is not None
    assert clear > 0.8
    assert vague.confidence == pytest.approx(1 / len(CATEGORIES), abs=1e-3)
    assert vague.category_key == CATEGORIES[0].key
    assert "by default" in vague.reasoning


def test_categories_unknown_to_the_lexicon_score_on_their_own_words() -> None:
    """Caller-invented categories work from their names and descriptions alone."""
    categories = (
        canonical.Category(key="recipe", name="Recipe", description="Cooking ingredients, oven"),
        canonical.Category(key="poem", name="Poem", description="Verses, stanzas and rhyme"),
    )
    text = "Preheat the oven. Ingredients: flour, eggs. A recipe from grandma."
    assert classify(text, categories).decision.category_key == "recipe"


def test_keys_and_camel_case_names_are_split_into_words() -> None:
    """A category keyed `bankStatement` with a terse name still matches bank statement text."""
    categories = (
        canonical.Category(key="bankStatement", name="BS"),
        canonical.Category(key="letter", name="Letter"),
    )
    text = "Opening balance 1,200.00. Closing balance 950.10. Statement period: March."
    assert classify(text, categories).decision.category_key == "bankStatement"


def test_instructions_lend_their_words_to_the_category_they_name() -> None:
    """A sentence of the instructions naming one category adds its words as evidence."""
    categories = (
        canonical.Category(key="alpha", name="Alpha"),
        canonical.Category(key="beta", name="Beta"),
    )
    text = "Shipment of turbine blades, serial numbers enclosed."
    plain = classify(text, categories).decision.category_key
    guided = classify(text, categories, instructions="Alpha covers turbine shipments.")
    assert plain == "alpha"  # no evidence at all: the first category, by default
    assert guided.decision.category_key == "alpha"
    assert "turbine" in guided.decision.reasoning
    steered = classify(text, categories, instructions="Beta is for turbine blades.")
    assert steered.decision.category_key == "beta"


def test_consensus_votes_and_agreement() -> None:
    """`votes=3` gives three readings, the majority decision, and the winner's share."""
    result = classify(_text("doc_001.txt"), CATEGORIES, votes=3)
    assert len(result.votes) == 3
    assert result.agreement is not None
    assert result.agreement == pytest.approx(
        sum(v.category_key == result.decision.category_key for v in result.votes) / 3, abs=1e-3
    )
    assert result.decision.category_key == LABELS["doc_001.txt"]
    assert classify(_text("doc_001.txt"), CATEGORIES).votes == ()
