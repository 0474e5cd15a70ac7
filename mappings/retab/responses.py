"""Retab Classifications and list pages to and from the canonical run (contracts.md §2.2, §2.3).

Pure: no I/O. Each function returns the value and the `Notes` of the Retab wire paths it
invented or dropped. Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from msgspec import UNSET, UnsetType

from mappings import answers, canonical
from mappings.models import DEFAULT_MODELS, ModelTable
from mappings.notes import Notes, NoteTaker
from mappings.retab.common import (
    DEFAULT_MODEL,
    STATUS_FROM_CANONICAL,
    USAGE_UNIT,
    as_utc,
    key_for_name,
    name_for_decision,
    retab_names,
    status_to_canonical,
)
from mappings.retab.wire import (
    Category,
    Classification,
    ClassificationConsensus,
    ClassificationDecision,
    FileRef,
    PrimitiveError,
    RetabUsage,
)
from mappings.shared import UNKNOWN_MIME, given

# Until a run completes Retab reports an empty decision, not null (hazard 16)
PLACEHOLDER = ClassificationDecision(reasoning="", category="")


def response_to_canonical(
    cls: Classification, *, received_at: datetime
) -> tuple[canonical.ClassificationRun, Notes]:
    """A Retab Classification as a canonical run; `received_at` stands in for a missing
    `created_at`."""
    notes = NoteTaker()
    categories = _categories_to_canonical(cls.categories)
    status = _status_to_canonical(cls.status, notes)
    likelihoods = _likelihoods(cls.consensus)
    run = canonical.ClassificationRun(
        id=cls.id,
        status=status,
        config=canonical.RunConfig(
            categories=categories,
            model=cls.model,
            instructions=given(cls.instructions),
            consensus=given(cls.n_consensus) or 1,
        ),
        created_at=_created_at(cls.created_at, received_at, notes),
        file=canonical.FileInfo(
            id=cls.file.id, filename=cls.file.filename, mime_type=cls.file.mime_type
        ),
        decision=_decision(cls, status, categories, likelihoods),
        votes=tuple(_vote(choice, categories) for choice in _choices(cls.consensus)),
        agreement=likelihoods,
        usage=_usage_to_canonical(given(cls.usage)),
        error=_error_to_canonical(given(cls.error)),
    )
    return run, notes.notes


def _categories_to_canonical(
    cats: tuple[Category, ...] | UnsetType,
) -> tuple[canonical.Category, ...]:
    if isinstance(cats, UnsetType):
        return ()  # legacy rows lack categories (contracts.md §2.2)
    return tuple(
        canonical.Category(
            key=given(c.handle_key), name=c.name, description=given(c.description) or ""
        )
        for c in cats
    )


def _status_to_canonical(status: str | UnsetType | None, notes: NoteTaker) -> canonical.Status:
    if isinstance(status, str):
        return status_to_canonical(status)
    # Retab's SDK reads a missing status as pending; contracts.md §10 hazard 15, §12 #3
    notes.synthesized("status")
    return canonical.Status.pending


def _created_at(
    created_at: datetime | UnsetType | None, received_at: datetime, notes: NoteTaker
) -> datetime:
    if isinstance(created_at, datetime):
        return as_utc(created_at)
    notes.synthesized("created_at")
    return received_at


def _likelihoods(consensus: ClassificationConsensus | UnsetType | None) -> float | None:
    if not isinstance(consensus, ClassificationConsensus):
        return None
    # the SDK's `likelihoods`, else the seed's and docs' `likelihood` (contracts.md §12 #1)
    found = given(consensus.likelihoods)
    return found if found is not None else given(consensus.likelihood)


def _choices(
    consensus: ClassificationConsensus | UnsetType | None,
) -> tuple[ClassificationDecision, ...]:
    if not isinstance(consensus, ClassificationConsensus):
        return ()
    return given(consensus.choices) or ()


def _decision(
    cls: Classification,
    status: canonical.Status,
    categories: Sequence[canonical.Category],
    confidence: float | None,
) -> canonical.Decision | None:
    output = given(cls.output)
    # before completion the output is a placeholder: read status first (contracts.md §2.2)
    if status is not canonical.Status.completed or output is None or not output.category:
        return None
    return canonical.Decision(
        category_key=key_for_name(output.category, categories),
        category_name=output.category,
        confidence=confidence,
        reasoning=output.reasoning,
    )


def _vote(
    choice: ClassificationDecision, categories: Sequence[canonical.Category]
) -> canonical.Decision:
    return canonical.Decision(
        category_key=key_for_name(choice.category, categories),
        category_name=choice.category,
        reasoning=choice.reasoning,
    )


def _usage_to_canonical(usage: RetabUsage | None) -> canonical.Usage | None:
    return None if usage is None else canonical.Usage(credits=usage.credits, unit=USAGE_UNIT)


def _error_to_canonical(error: PrimitiveError | None) -> canonical.RunError | None:
    if error is None:
        return None
    return canonical.RunError(code=error.code, message=error.message, details=given(error.details))


def response_from_canonical(
    run: canonical.ClassificationRun,
    *,
    public_id: str,
    include_output: bool = True,
    models: ModelTable = DEFAULT_MODELS,
) -> tuple[Classification, Notes]:
    """A canonical run as the Classification a Retab client expects under `public_id`;
    `include_output=False` leaves `output` out and keeps every required field."""
    notes = NoteTaker()
    names, renamed = retab_names(run.config.categories)
    for index in renamed:
        notes.synthesized(f"categories[{index}].name")
    body = Classification(
        id=public_id,
        file=_file_from_canonical(run, notes),
        model=_model_from_canonical(run.config.model, models, notes),
        categories=_categories_from_canonical(run.config.categories, names),
        n_consensus=run.config.consensus,
        instructions=run.config.instructions,
        output=_output(run, names) if include_output else UNSET,
        # always emitted: a missing status reads as pending in the SDK (hazard 15)
        status=STATUS_FROM_CANONICAL[run.status],
        error=_error_from_canonical(run, notes),
        consensus=_consensus_from_canonical(run, names, notes),
        usage=_usage_from_canonical(run.usage, notes),
        created_at=run.created_at,
    )
    return body, notes.notes


def _file_from_canonical(run: canonical.ClassificationRun, notes: NoteTaker) -> FileRef:
    if run.file is not None:
        return FileRef(id=run.file.id, filename=run.file.filename, mime_type=run.file.mime_type)
    # `file` is required and non-null in Retab; Extend reports null when ingestion failed
    # (hazard 20). A stable id shaped like Retab's: `file_` + 16 hex of BLAKE2b.
    notes.synthesized("file")
    digest = hashlib.blake2b(run.id.encode("utf-8"), digest_size=8).hexdigest()
    return FileRef(id=f"file_{digest}", filename="document", mime_type=UNKNOWN_MIME)


def _model_from_canonical(model: str | None, models: ModelTable, notes: NoteTaker) -> str:
    if model is None:
        notes.synthesized("model")  # `model` is required in a Classification (hazard 6)
        return DEFAULT_MODEL
    return models.retab_model(model)


def _categories_from_canonical(
    categories: Sequence[canonical.Category], names: Sequence[str]
) -> tuple[Category, ...]:
    return tuple(
        Category(
            name=name,
            handle_key=UNSET if c.key is None else c.key,
            description=c.description,
        )
        for c, name in zip(categories, names, strict=True)
    )


def _output(run: canonical.ClassificationRun, names: Sequence[str]) -> ClassificationDecision:
    if run.status is not canonical.Status.completed or run.decision is None:
        return PLACEHOLDER
    category = name_for_decision(run.decision, run.config.categories, names)
    return ClassificationDecision(reasoning=run.decision.reasoning, category=category)


def _consensus_from_canonical(
    run: canonical.ClassificationRun, names: Sequence[str], notes: NoteTaker
) -> ClassificationConsensus | None:
    likelihoods = run.agreement
    confidence = run.decision.confidence if run.decision is not None else None
    if likelihoods is None and confidence is not None:
        # a foreign backend's per-run confidence is the nearest Retab field (hazard 4)
        notes.synthesized("consensus.likelihoods")
        likelihoods = confidence
    if not run.votes and likelihoods is None and run.status is not canonical.Status.completed:
        return None  # Retab reports no consensus before a run completes
    choices = tuple(
        ClassificationDecision(
            reasoning=vote.reasoning,
            category=name_for_decision(vote, run.config.categories, names),
        )
        for vote in run.votes
    )
    return ClassificationConsensus(choices=choices, likelihoods=likelihoods)


def _usage_from_canonical(usage: canonical.Usage | None, notes: NoteTaker) -> RetabUsage | None:
    if usage is None:
        return None
    if usage.unit != USAGE_UNIT:
        # another backend's credits, passed through as they are, never converted (hazard 18)
        notes.synthesized("usage.credits")
    return RetabUsage(credits=usage.credits)


def _error_from_canonical(
    run: canonical.ClassificationRun, notes: NoteTaker
) -> PrimitiveError | None:
    error = run.error
    if error is None and run.status is canonical.Status.failed:
        notes.synthesized("error")
        error = canonical.RunError(code="UNKNOWN_ERROR", message="The run failed.")
    if error is None:
        return None
    # Extend's failureReason/failureMessage carry no details: Retab gets {} (hazard 17)
    details = error.details if error.details is not None else {}
    return PrimitiveError(code=error.code, message=error.message, details=details)


def in_request_terms(
    run: canonical.ClassificationRun,
    request: canonical.ClassifyRequest,
    sent: Sequence[str] | None = None,
) -> canonical.ClassificationRun:
    """A Retab backend's answer in the terms of the request that asked it: Retab answers with
    the unique category names `request_from_canonical` sent (hazard 3), which are worked out
    again from the request when `sent` is not at hand (a run read later)."""
    names = retab_names(request.config.categories)[0] if sent is None else sent
    return answers.in_request_terms(run, request, names, by="name")
