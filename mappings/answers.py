"""A foreign vendor's answer put back in the terms of the request that asked it (hazard 3).

A backend sends the caller's categories under the identifiers the vendor needs (Extend ids,
unique Retab names); the vendor answers in those. These pure functions map the answer back
onto the caller's own categories, kept with the run in the ledger. Imports only `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from mappings import canonical

MatchBy = Literal["key", "name"]


def in_request_terms(
    run: canonical.ClassificationRun,
    request: canonical.ClassifyRequest,
    sent: Sequence[str],
    *,
    by: MatchBy,
) -> canonical.ClassificationRun:
    """`run` with the request's categories and metadata, and its answers in their terms.

    `sent[i]` is what category i of the request was called upstream; `by` says whether the
    vendor's answer names it by key (Extend `output.id`) or by name (Retab `category`).
    """
    categories = request.config.categories

    def restore(decision: canonical.Decision) -> canonical.Decision:
        ident = decision.category_key if by == "key" else decision.category_name
        for category, name in zip(categories, sent, strict=True):
            if name == ident:
                return msgspec.structs.replace(
                    decision, category_key=category.key, category_name=category.name
                )
        return decision

    config = msgspec.structs.replace(
        request.config,
        model=run.config.model or request.config.model,
        model_version=run.config.model_version or request.config.model_version,
    )
    review = run.review
    if review is not None and review.initial is not None:
        review = msgspec.structs.replace(review, initial=restore(review.initial))
    return msgspec.structs.replace(
        run,
        config=config,
        decision=None if run.decision is None else restore(run.decision),
        votes=tuple(restore(vote) for vote in run.votes),
        review=review,
        # the vendor keeps no metadata (Retab) or echoes it (Extend): the ledger's copy wins
        metadata=run.metadata if run.metadata is not None else request.metadata,
    )
