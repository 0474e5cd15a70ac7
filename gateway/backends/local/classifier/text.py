"""Cheap text normalisation for the local classifier: tokens, stems, stop words and n-grams.

Both sides of a comparison (a category's name and description, and a document's text) go
through the same `terms` pipeline, so whatever the pipeline loses it loses on both sides and
phrases still line up: "Thank you for your purchase" and "thank you for your PURCHASE!" give
the same stemmed term sequence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

# letters and digits only: punctuation, `_` and `-` all split, so snake_case and kebab-case
# names fall apart into words without a second pass
_WORD = re.compile(r"[^\W_]+")
# lowerUpper boundaries, so a camelCase key such as "bankStatement" splits too
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_STOP_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves per via etc also may must shall us one document documents file type kind
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())
# "yours" and "dear" matter for letters, so the letter lexicon spells its cues with words the
# stop list keeps; the list above only drops words that carry no document-type signal
_KEEP = frozenset({"yours"})
_STOP = STOP_WORDS - _KEEP


def fold(text: str) -> str:
    """`text` casefolded with accents stripped, so "Résumé" and "resume" compare equal."""
    folded = text.casefold()
    if folded.isascii():
        return folded  # the common case; skips the comparatively slow Unicode decomposition
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix-stripping stem: enough to join plurals and -ing/-ed forms, no more.

    Deliberately weaker than Porter: document-type words are short and mostly nouns, and an
    aggressive stemmer merges terms ("general", "generate") that tell categories apart.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    # "shipping" -> "shipp" -> "ship": a doubled final consonant is the -ing/-ed artefact
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        word = word[:-1]
    # a trailing "e" is dropped so "date", "dated" and "dates" all become "dat"
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


_SUFFIXES = (
    ("ational", "ate"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ies", "y"),
    ("sses", "ss"),
    ("ings", ""),
    ("ing", ""),
    ("edly", ""),
    ("ed", ""),
)


def split_identifier(name: str) -> str:
    """`name` with camelCase boundaries turned into spaces ("bankStatement" -> "bank Statement")."""
    return _CAMEL.sub(" ", name)


def terms(text: str) -> list[str]:
    """The stemmed, stop-word-free term sequence of `text`, in order."""
    stop = _STOP
    # camelCase splits first: JSON and CSV documents name their fields `invoiceNumber`
    return [stem(w) for w in _WORD.findall(fold(split_identifier(text))) if w not in stop]


def surface_terms(text: str) -> list[tuple[str, str]]:
    """(stem, surface word) pairs of `text`, for showing people the word that matched."""
    stop = _STOP
    return [(stem(w), w) for w in _WORD.findall(fold(split_identifier(text))) if w not in stop]


def ngrams(seq: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    """The contiguous n-grams of `seq`."""
    if n == 1:
        return ((t,) for t in seq)
    return zip(*(seq[i:] for i in range(n)), strict=False)


def count_ngrams(seq: Sequence[str], lengths: Iterable[int]) -> Counter[tuple[str, ...]]:
    """How often each n-gram of the given lengths occurs in `seq`, all in one counter."""
    counts: Counter[tuple[str, ...]] = Counter()
    for n in lengths:
        counts.update(ngrams(seq, n))
    return counts
