"""The local backend's deterministic zero-shot classifier.

Each category's profile (profiles.py) is scored against the document's stemmed n-grams:
a phrase found `tf` times adds `weight * (1 + ln tf)`, words in the document's opening lines
(where titles stand) count twice, and the sum is damped by the profile's size so a category
with a long lexicon does not win on volume alone. A softmax over the scores gives the
confidence; the reasoning names the phrases that decided it. Consensus (`votes > 1`) reads
the document `votes` times, each time leaving a different slice out, and takes the majority.
Same input, same answer: nothing here is random.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from gateway.backends.local.classifier.profiles import Phrase, Profile, build_profiles
from gateway.backends.local.classifier.text import count_ngrams, terms
from mappings import canonical

TITLE_TERMS = 24  # the first terms of a document: its title and letterhead
# softmax temperature, relative to the top score so that confidence reads the margin between
# categories, not the document's length: runner-up at half the winner's score reads ~0.95
RELATIVE_TEMPERATURE = 0.15
MIN_TEMPERATURE = 0.3
EVIDENCE_SHOWN = 5


class Scored(NamedTuple):
    """One category's score for one reading of the document, with the phrases that matched."""

    profile: Profile
    score: float
    evidence: list[tuple[str, int]]  # (phrase as shown, times found), strongest first


class Classified(NamedTuple):
    """The classifier's answer: the decision, each consensus vote, and the winner's share."""

    decision: canonical.Decision
    votes: tuple[canonical.Decision, ...]
    agreement: float | None


def classify(
    text: str,
    categories: Sequence[canonical.Category],
    *,
    instructions: str | None = None,
    votes: int = 1,
) -> Classified:
    """Pick the category of `categories` that `text` most looks like."""
    profiles = build_profiles(tuple(categories), instructions)
    words = terms(text)
    if votes <= 1:
        return Classified(decision=_decide(profiles, words), votes=(), agreement=None)
    ballots = tuple(_decide(profiles, view) for view in _views(words, votes))
    tally = Counter(b.category_name for b in ballots)
    winner = max(
        tally,
        key=lambda name: (tally[name], sum(b.confidence or 0 for b in ballots if _is(b, name))),
    )
    chosen = [b for b in ballots if _is(b, winner)]
    share = tally[winner] / votes
    decision = canonical.Decision(
        category_key=chosen[0].category_key,
        category_name=winner,
        confidence=round(sum(b.confidence or 0 for b in chosen) / len(chosen), 4),
        reasoning=f"{tally[winner]} of {votes} readings agree. {chosen[0].reasoning}",
    )
    return Classified(decision=decision, votes=ballots, agreement=round(share, 4))


def _is(decision: canonical.Decision, name: str) -> bool:
    return decision.category_name == name


def _views(words: list[str], votes: int) -> list[list[str]]:
    """`votes` readings of the document, reading i leaving out slice i of votes + 1."""
    size = max(1, math.ceil(len(words) / (votes + 1)))
    return [words[: i * size] + words[(i + 1) * size :] for i in range(votes)]


def _decide(profiles: Sequence[Profile], words: list[str]) -> canonical.Decision:
    scored = score(profiles, words)
    probabilities = _softmax([s.score for s in scored])
    best = max(range(len(scored)), key=lambda i: (scored[i].score, -i))
    winner = scored[best]
    category = winner.profile.category
    return canonical.Decision(
        category_key=category.key,
        category_name=category.name,
        confidence=round(probabilities[best], 4),
        reasoning=_reasoning(winner, scored),
    )


def score(profiles: Sequence[Profile], words: list[str]) -> list[Scored]:
    """Every profile scored against the document's term sequence `words`."""
    lengths = {len(p) for profile in profiles for p, _ in profile.cues}
    counts = count_ngrams(words, lengths)
    title = count_ngrams(words[:TITLE_TERMS], lengths)
    return [_score(profile, counts, title) for profile in profiles]


def _score(profile: Profile, counts: Counter[Phrase], title: Counter[Phrase]) -> Scored:
    total = 0.0
    found: list[tuple[float, str, int]] = []
    for phrase, cue in profile.cues:
        tf = counts.get(phrase, 0)
        if not tf:
            continue
        gained = cue.weight * (1 + math.log(tf)) * (2 if title.get(phrase) else 1)
        total += gained
        found.append((gained, cue.shown, tf))
    size = sum(cue.weight for _, cue in profile.cues)
    damped = total / (1 + math.log1p(size))
    found.sort(key=lambda f: (-f[0], f[1]))
    return Scored(profile=profile, score=damped, evidence=[(s, n) for _, s, n in found])


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    temperature = max(MIN_TEMPERATURE, RELATIVE_TEMPERATURE * top)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def _reasoning(winner: Scored, scored: list[Scored]) -> str:
    name = winner.profile.category.name
    if not winner.evidence:
        return (
            f'No category\'s words or cue phrases appear in the document; "{name}" is the '
            "first category given, chosen by default."
        )
    shown = ", ".join(
        f'"{phrase}"' + (f" ({times}x)" if times > 1 else "")
        for phrase, times in winner.evidence[:EVIDENCE_SHOWN]
    )
    text = f'The document reads as "{name}": it contains {shown}.'
    others = sorted((s for s in scored if s is not winner), key=lambda s: -s.score)
    if others and others[0].evidence:
        runner = others[0]
        text += (
            f' Runner-up "{runner.profile.category.name}" matched only '
            + ", ".join(f'"{p}"' for p, _ in runner.evidence[:3])
            + "."
        )
    return text
