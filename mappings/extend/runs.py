"""Extend classify runs to and from the canonical `ClassificationRun` (contracts.md §5.2).

Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

import msgspec
from msgspec import UnsetType

from mappings import answers, canonical
from mappings.extend.common import (
    STATUS_FROM_CANONICAL,
    category_ids,
    format_timestamp,
    parse_timestamp,
    status_to_canonical,
)
from mappings.extend.config import config_from_canonical, config_to_canonical
from mappings.extend.parts import (
    classifier_from_canonical,
    classifier_to_canonical,
    decision_to_canonical,
    failure_from_canonical,
    failure_to_canonical,
    file_from_canonical,
    file_to_canonical,
    output_from_canonical,
    usage_from_canonical,
    usage_to_canonical,
)
from mappings.extend.resources import (
    ClassifierSummary,
    ClassifierVersionSummary,
    ClassifyOutput,
    ClassifyRun,
    DeleteResponse,
    FileSummary,
)
from mappings.extend.wire import ClassifyConfigInput
from mappings.models import DEFAULT_MODELS, ModelTable
from mappings.notes import Notes, NoteTaker
from mappings.shared import given

# Extend's own default processor (contracts.md §5.1), named when a run recorded none (hazard 6)
DEFAULT_PROCESSOR = "classification_standard"


def response_to_canonical(
    run: ClassifyRun, *, received_at: datetime
) -> tuple[canonical.ClassificationRun, Notes]:
    """An Extend run as canonical; `received_at` stands in for a missing `createdAt` (the seed
    omits it, contracts.md §12 #9)."""
    notes = NoteTaker()
    config = given(run.config)
    result = canonical.ClassificationRun(
        id=run.id,
        status=status_to_canonical(run.status),
        config=canonical.RunConfig(categories=())
        if config is None
        else config_to_canonical(config),
        created_at=_created(run, received_at, notes),
        file=_file(run),
        decision=_decision(run, notes),
        usage=_usage(run, notes),
        error=failure_to_canonical(given(run.failure_reason), given(run.failure_message)),
        updated_at=_time(run.updated_at, "updatedAt"),
        metadata=given(run.metadata),
        review=_review(run, notes),
        classifier=classifier_to_canonical(given(run.classifier), given(run.classifier_version)),
        dashboard_url=given(run.dashboard_url),
        parse_run_id=given(run.parse_run_id),
    )
    return result, notes.notes


def _created(run: ClassifyRun, received_at: datetime, notes: NoteTaker) -> datetime:
    created = _time(run.created_at, "createdAt")
    if created is None:
        notes.synthesized("createdAt")
    return received_at if created is None else created


def _time(value: str | UnsetType, field: str) -> datetime | None:
    text = given(value)
    return None if text is None else parse_timestamp(text, field=field)


def _file(run: ClassifyRun) -> canonical.FileInfo | None:
    file = given(run.file)
    return None if file is None else file_to_canonical(file)


def _usage(run: ClassifyRun, notes: NoteTaker) -> canonical.Usage | None:
    usage = given(run.usage)
    return None if usage is None else usage_to_canonical(usage, notes=notes)


def _decision(run: ClassifyRun, notes: NoteTaker) -> canonical.Decision | None:
    # `output` already holds the reviewed answer when there is one (contracts.md §5.2)
    output = given(run.output) or given(run.reviewed_output)
    return None if output is None else decision_to_canonical(output, notes=notes)


def _review(run: ClassifyRun, notes: NoteTaker) -> canonical.Review | None:
    if not run.reviewed:
        return None
    initial = given(run.initial_output)
    decision = None if initial is None else decision_to_canonical(initial, notes=notes)
    return canonical.Review(edited=run.edited, initial=decision)


def response_from_canonical(
    run: canonical.ClassificationRun,
    *,
    public_id: str,
    models: ModelTable = DEFAULT_MODELS,
    default_confidence: float = 0.5,
    dashboard_url: str = "",
) -> tuple[ClassifyRun, Notes]:
    """A canonical run in Extend's full shape, every key printed (null where empty).

    Fills what Extend requires and other backends lack (hazard 19) and notes each invention.
    """
    notes = NoteTaker()
    output, initial = _outputs(run, default_confidence=default_confidence, notes=notes)
    reason, message = failure_from_canonical(run, notes=notes)
    classifier, version = _classifier(run, notes)
    body = ClassifyRun(
        id=public_id,
        status=STATUS_FROM_CANONICAL[run.status],
        output=output,
        classifier=classifier,
        classifier_version=version,
        initial_output=initial,
        reviewed_output=output if run.review is not None else None,
        failure_reason=reason,
        failure_message=message,
        metadata=run.metadata,
        reviewed=run.review is not None,
        edited=run.review is not None and run.review.edited,
        config=resolved_config(run, models=models, notes=notes),
        file=_file_out(run, notes),
        parse_run_id=run.parse_run_id,
        dashboard_url=_dashboard(run, dashboard_url, notes),
        usage=None if run.usage is None else usage_from_canonical(run.usage, notes=notes),
        created_at=format_timestamp(run.created_at),
        updated_at=_updated(run, notes),
    )
    return body, notes.notes


def _outputs(
    run: canonical.ClassificationRun, *, default_confidence: float, notes: NoteTaker
) -> tuple[ClassifyOutput | None, ClassifyOutput | None]:
    # Extend shows no output until PROCESSED (hazard 16)
    if run.status is not canonical.Status.completed or run.decision is None:
        return None, None
    if run.votes:
        notes.dropped("consensus")  # Extend has one answer per run (hazard 7)
    ids = category_ids(run.config.categories)

    def render(decision: canonical.Decision, path: str) -> ClassifyOutput:
        return output_from_canonical(
            decision,
            run=run,
            ids=ids,
            default_confidence=default_confidence,
            notes=notes,
            path=path,
        )

    initial = run.review.initial if run.review is not None else None
    return render(run.decision, "output"), None if initial is None else render(
        initial, "initialOutput"
    )


def resolved_config(
    run: canonical.ClassificationRun, *, models: ModelTable, notes: NoteTaker
) -> ClassifyConfigInput:
    """The run's config as Extend echoes it: resolved, with a `baseProcessor` (hazard 6, 19)."""
    if run.config.parse_config is None and models is DEFAULT_MODELS:
        encoded, found = _default_resolved(run.config)  # hashable without the parseConfig dict
        notes.add(found)
        return _config_decoder.decode(encoded)
    return _resolve(run.config, models, notes)


# Every poll of a run renders the same config again. The cache keeps its encoding, not the
# Struct: a wire Struct is mutable, and each response must get one of its own.
@lru_cache(maxsize=1024)
def _default_resolved(config: canonical.RunConfig) -> tuple[bytes, Notes]:
    notes = NoteTaker()
    return msgspec.json.encode(_resolve(config, DEFAULT_MODELS, notes)), notes.notes


_config_decoder = msgspec.json.Decoder(ClassifyConfigInput)


def _resolve(
    run_config: canonical.RunConfig, models: ModelTable, notes: NoteTaker
) -> ClassifyConfigInput:
    config = config_from_canonical(run_config, models=models, notes=notes)
    if isinstance(config.base_processor, UnsetType):
        notes.synthesized("config.baseProcessor")
        config = msgspec.structs.replace(config, base_processor=DEFAULT_PROCESSOR)
    return config


def _classifier(
    run: canonical.ClassificationRun, notes: NoteTaker
) -> tuple[ClassifierSummary | None, ClassifierVersionSummary | None]:
    if run.classifier is None:
        return None, None
    return classifier_from_canonical(run.classifier, created=run.created_at, notes=notes)


def _file_out(run: canonical.ClassificationRun, notes: NoteTaker) -> FileSummary | None:
    if run.file is None:
        return None  # Extend's own answer when a file could not be ingested (contracts.md §5.2)
    return file_from_canonical(run.file, fallback_time=run.created_at, notes=notes)


def _dashboard(run: canonical.ClassificationRun, fallback: str, notes: NoteTaker) -> str:
    if run.dashboard_url:
        return run.dashboard_url
    notes.synthesized("dashboardUrl")  # required by Extend (hazard 19)
    return fallback


def _updated(run: canonical.ClassificationRun, notes: NoteTaker) -> str:
    if run.updated_at is None:
        notes.synthesized("updatedAt")  # hazard 19: the creation time stands in
    return format_timestamp(run.updated_at or run.created_at)


def delete_response(public_id: str) -> DeleteResponse:
    """Extend's delete answer: `{id}` with a 200, where Retab sends an empty 204 (hazard 24)."""
    return DeleteResponse(id=public_id)


def accepted_to_canonical(run: canonical.ClassificationRun) -> canonical.ClassificationRun:
    """A background run Extend has just accepted, as its caller should see it.

    Extend answers every accepted run PROCESSING, though nothing has started yet: for the
    caller it is only queued (Retab's background create answers `queued`, contracts.md §2).
    """
    if run.status is canonical.Status.running:
        return msgspec.structs.replace(run, status=canonical.Status.queued)
    return run


def in_request_terms(
    run: canonical.ClassificationRun,
    request: canonical.ClassifyRequest,
    sent: Sequence[str] | None = None,
) -> canonical.ClassificationRun:
    """An Extend backend's answer in the terms of the request that asked it: Extend answers
    with the `classifications[].id`s `request_from_canonical` sent (hazard 3), which are worked
    out again from the request when `sent` is not at hand (a run read later)."""
    ids = category_ids(request.config.categories) if sent is None else sent
    return answers.in_request_terms(run, request, ids, by="key")
