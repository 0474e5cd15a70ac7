"""The ledger's comparisons read as the report's inputs (`gateway.compare.from_ledger`): each
side's label in the caller's category keys, failures, latency and credits, and the pair of
backends a report compares when none is asked for."""

from __future__ import annotations

import pytest

from gateway.compare.from_ledger import (
    answer_of,
    comparison_of,
    comparisons_of,
    label_of,
    usual_pair,
)
from gateway.compare.records import Answer
from mappings import canonical
from tests.comparison_support import CATEGORIES, comparison, run, side


@pytest.mark.parametrize(
    ("key", "name", "label"),
    [
        pytest.param("inv", "Invoice", "inv", id="by key"),
        pytest.param("rec", "Invoice", "rec", id="the key wins over the name"),
        pytest.param(None, "Receipt", "rec", id="by name when the backend gave no key"),
        pytest.param("RECEIPT", "Receipt", "rec", id="by name when the key is not the caller's"),
        pytest.param("other", "Other", "other", id="unknown: the backend's key kept"),
        pytest.param(None, "Memo", "Memo", id="unknown without a key: its name kept"),
    ],
)
def test_a_label_is_read_back_into_the_callers_keys(key: str | None, name: str, label: str) -> None:
    """A decision names the caller's category by key first, then by name; a label outside
    the caller's set is kept as the backend gave it."""
    decision = canonical.Decision(category_key=key, category_name=name)
    assert label_of(decision, CATEGORIES) == label


def test_a_category_without_a_key_is_labelled_by_its_name() -> None:
    """When the caller gave a category no key, its name is the label."""
    categories = (canonical.Category(key=None, name="Invoice"),)
    decision = canonical.Decision(category_key="invoice", category_name="Invoice")
    assert label_of(decision, categories) == "Invoice"


def test_a_completed_side_answers_with_its_label_confidence_latency_and_credits() -> None:
    """Latency is finished - started; confidence, credits and reasoning come from the run."""
    done = run("r1", key="inv", name="Invoice", confidence=0.8, credits=3.0, reasoning="total")
    answer = answer_of(side("extend", done, latency_ms=1250.0), CATEGORIES)
    assert answer == Answer(
        label="inv", latency_ms=1250.0, confidence=0.8, credits=3.0, reasoning="total"
    )
    assert answer.answered


def test_a_side_that_failed_before_a_run_existed() -> None:
    """No run: failed, no label, its error kept; its latency is still measured."""
    answer = answer_of(side("retab", None, latency_ms=40.0, error="upstream 503"), CATEGORIES)
    assert answer == Answer(label=None, latency_ms=40.0, failed=True, error="upstream 503")
    assert not answer.answered


@pytest.mark.parametrize(
    ("status", "error", "expected_error"),
    [
        (canonical.Status.failed, "the document is empty", "the document is empty"),
        (canonical.Status.cancelled, None, "run cancelled"),
    ],
)
def test_a_run_that_ended_without_a_decision_is_a_failure(
    status: canonical.Status, error: str | None, expected_error: str
) -> None:
    """A failed or cancelled run counts as a failure, with its reason and any credits used."""
    ended = run("r1", status=status, error=error, credits=1.0)
    answer = answer_of(side("extend", ended), CATEGORIES)
    assert (answer.failed, answer.label, answer.error) == (True, None, expected_error)
    assert answer.credits == 1.0


def test_an_unfinished_side_has_no_latency_yet() -> None:
    """A side not finished is read with zero latency (only completed comparisons are
    reported, so this never reaches the figures)."""
    assert answer_of(side("extend", None, latency_ms=None), CATEGORIES).latency_ms == 0.0


def test_a_comparison_pairs_the_two_asked_backends() -> None:
    """Sides are picked by backend name in the asked order; the document is named by its
    file name when it has one, else its hash; the expected label is kept."""
    record = comparison(
        "cmp_1",
        side("extend", run("e", key="inv", name="Invoice")),
        side("retab", run("r", key=None, name="Receipt")),
        side("local", run("l", key="con", name="Contract")),
        filename="a.pdf",
        expected="inv",
    )
    pair = comparison_of(record, "retab", "extend")
    assert pair is not None
    assert (pair.document, pair.a.label, pair.b.label, pair.expected) == (
        "a.pdf",
        "rec",
        "inv",
        "inv",
    )
    unnamed = comparison("cmp_2", *record.sides, document="abc123")
    by_hash = comparison_of(unnamed, "extend", "local")
    assert by_hash is not None
    assert by_hash.document == "abc123"


def test_incomplete_or_unrelated_comparisons_are_left_out() -> None:
    """Only completed comparisons having both asked backends become report inputs."""
    both = (side("extend", run("e", key="inv")), side("local", run("l", key="inv")))
    records = [
        comparison("done", *both),
        comparison("pending", *both, completed=False),
        comparison("other pair", side("extend", run("e2", key="inv")), side("retab", None)),
    ]
    assert comparison_of(records[1], "extend", "local") is None
    assert comparison_of(records[2], "extend", "local") is None
    assert [c.document for c in comparisons_of(records, "extend", "local")] == ["hash-done"]


def test_the_usual_pair_is_the_one_most_completed_comparisons_share() -> None:
    """Pairs are counted primary-first over completed comparisons only; ties go to the
    first seen; no completed comparison, no pair."""
    ran = run("x", key="inv")
    records = [
        comparison("1", side("extend", ran), side("retab", ran)),
        comparison("2", side("extend", ran), side("local", ran), side("retab", ran)),
        comparison("3", side("local", ran), side("retab", ran)),
        comparison("4", side("local", ran), side("retab", ran)),
        comparison("5", side("local", ran), side("retab", ran), completed=False),
    ]
    assert usual_pair(records) == ("extend", "retab")
    assert usual_pair(records[2:]) == ("local", "retab")
    assert usual_pair(records[4:]) is None
    assert usual_pair([]) is None
