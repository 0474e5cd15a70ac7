"""What the local classifier looks for, per category: weighted stemmed phrases.

A profile is built from the category's own words (its key, name and description), the
built-in lexicon entry its name points at (lexicon.py), and any sentence of the request's
instructions that names it. Phrases several categories share are worth less to each, like
inverse document frequency across the category set.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import NamedTuple

from gateway.backends.local.classifier.lexicon import LEXICON, DocType
from gateway.backends.local.classifier.text import split_identifier, surface_terms, terms
from mappings import canonical

Phrase = tuple[str, ...]

NAME_PHRASE = 3.0  # the whole name ("bank statement") found verbatim
NAME_WORD = 1.5
DESCRIPTION_PHRASE = 0.9
DESCRIPTION_WORD = 0.6
INSTRUCTION_WORD = 1.2
COLLAPSED_PHRASE = 1.2
# descriptions are prose: only content words long enough to mean something count
_MIN_DESCRIPTION_WORD = 4
_SENTENCE = re.compile(r"[.;!?\n]+")


class Cue(NamedTuple):
    """One phrase a category scores on, with its weight and how to show it to a person."""

    weight: float
    shown: str


class Profile(NamedTuple):
    """The phrases one category scores on, each with its cue.

    `cues` is a tuple of pairs, not a dict: profiles come out of a cache shared by every
    request, so nothing reachable from one may be mutable.
    """

    category: canonical.Category
    cues: tuple[tuple[Phrase, Cue], ...]


@lru_cache(maxsize=256)
def build_profiles(
    categories: tuple[canonical.Category, ...], instructions: str | None = None
) -> tuple[Profile, ...]:
    """A profile per category, in the request's order, with shared phrases discounted.

    Cached: clients send the same category set again and again, and building a profile
    costs far more than scoring a document against it. Profiles are immutable all the way
    down, so one cached value can safely serve every caller.
    """
    raw = [_own_cues(category) for category in categories]
    for category, cues in zip(categories, raw, strict=True):
        entry = _lexicon_entry(category)
        if entry is not None:
            _add_lexicon(cues, entry)
    if instructions:
        _add_instructions(raw, categories, instructions)
    shared: defaultdict[Phrase, int] = defaultdict(int)
    for cues in raw:
        for phrase in cues:
            shared[phrase] += 1
    return tuple(
        Profile(
            category=category,
            cues=tuple((p, Cue(c.weight / shared[p], c.shown)) for p, c in cues.items()),
        )
        for category, cues in zip(categories, raw, strict=True)
    )


def _own_cues(category: canonical.Category) -> dict[Phrase, Cue]:
    cues: dict[Phrase, Cue] = {}
    for label in _labels(category):
        pairs = surface_terms(label)
        if len(pairs) > 1:
            _put(cues, tuple(s for s, _ in pairs), NAME_PHRASE, label.strip())
        for stemmed, word in pairs:
            _put(cues, (stemmed,), NAME_WORD, word)
    pairs = [(s, w) for s, w in surface_terms(category.description) if len(w) >= 4]
    for stemmed, word in pairs:
        _put(cues, (stemmed,), DESCRIPTION_WORD, word)
    for (s1, w1), (s2, w2) in itertools.pairwise(pairs):
        _put(cues, (s1, s2), DESCRIPTION_PHRASE, f"{w1} {w2}")
    return cues


def _labels(category: canonical.Category) -> list[str]:
    labels = [category.name]
    if category.key and category.key != category.name:
        labels.append(split_identifier(category.key))
    return labels


def _put(cues: dict[Phrase, Cue], phrase: Phrase, weight: float, shown: str) -> None:
    if phrase and (phrase not in cues or cues[phrase].weight < weight):
        cues[phrase] = Cue(weight, shown)


def _lexicon_entry(category: canonical.Category) -> DocType | None:
    """The lexicon entry the category's name or key names; failing those, its description.

    The longest trigger wins, so "bill of lading" goes to lading, not to "bill" (invoice).
    """
    for sources in (_labels(category), [category.description]):
        best: tuple[int, DocType] | None = None
        for source in sources:
            words = terms(source)
            for trigger, entry in _triggers():
                length = _contains(words, trigger)
                if length and (best is None or length > best[0]):
                    best = (length, entry)
        if best is not None:
            return best[1]
    return None


def _contains(words: list[str], phrase: Phrase) -> int:
    """len(phrase) when `phrase` occurs contiguously in `words`, else 0."""
    n = len(phrase)
    if n == 0:
        return 0
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) == phrase:
            return n
    return 0


def _add_lexicon(cues: dict[Phrase, Cue], entry: DocType) -> None:
    for phrase, weight, text in _lexicon_cues(entry.label):
        _put(cues, phrase, weight, text)


@cache
def _lexicon_cues(label: str) -> tuple[tuple[Phrase, float, str], ...]:
    """A lexicon entry's cues as stemmed phrases, tokenised once per process."""
    entry = next(e for e in LEXICON if e.label == label)
    found = []
    for text, weight in entry.cues:
        phrase = tuple(terms(text))
        if len(phrase) == 1 and " " in text.strip():
            # "invoice no" loses its stop word and is just "invoice": no longer a rare phrase
            weight = min(weight, COLLAPSED_PHRASE)
        found.append((phrase, weight, text))
    return tuple(found)


@cache
def _triggers() -> tuple[tuple[Phrase, DocType], ...]:
    return tuple((tuple(terms(t)), entry) for entry in LEXICON for t in entry.triggers)


def _add_instructions(
    raw: list[dict[Phrase, Cue]], categories: Sequence[canonical.Category], instructions: str
) -> None:
    """A sentence naming exactly one category lends its other words to that category."""
    names = [{t for label in _labels(c) for t in terms(label)} for c in categories]
    for sentence in _SENTENCE.split(instructions):
        pairs = surface_terms(sentence)
        words = {s for s, _ in pairs}
        named = [i for i, n in enumerate(names) if n and n <= words]
        if len(named) != 1:
            continue
        target = named[0]
        for stemmed, word in pairs:
            if stemmed not in names[target] and len(word) >= _MIN_DESCRIPTION_WORD:
                _put(raw[target], (stemmed,), INSTRUCTION_WORD, word)
