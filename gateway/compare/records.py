"""The inputs of the comparison report: one document answered by two backends.

A `Comparison` pairs the answers of the report's two backends, side "a" and side "b", for one
document, with the label a person expected when one is known. Frozen values: the figures only
read them. Pure: stdlib and msgspec only.
"""

from __future__ import annotations

import msgspec


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """What one backend said about one document, in the caller's category keys."""

    label: str | None  # the caller's category key; None when the backend gave none
    latency_ms: float
    confidence: float | None = None  # None when the backend gave none; never guessed
    credits: float | None = None  # None when the backend reported no usage
    failed: bool = False
    error: str | None = None
    reasoning: str | None = None

    @property
    def answered(self) -> bool:
        """A label came back: the answer takes part in agreement and accuracy."""
        return not self.failed and self.label is not None


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """One document's answers from backend "a" and backend "b"."""

    document: str  # the document's key (a content hash, a file name, ...)
    a: Answer
    b: Answer
    expected: str | None = None  # the right label, when a person gave one

    def swapped(self) -> Comparison:
        """The same comparison with the two sides exchanged."""
        return msgspec.structs.replace(self, a=self.b, b=self.a)
