"""The pieces of an Extend run, each both ways: outputs, failures, files, usage, classifiers.

Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import UNSET

from mappings import canonical
from mappings.extend.common import (
    file_type_from_mime,
    format_timestamp,
    mime_from_file,
    parse_timestamp,
    slug,
)
from mappings.extend.resources import (
    ClassifierSummary,
    ClassifierVersionSummary,
    ClassifyOutput,
    FileMetadata,
    FileSummary,
    Insight,
    RunUsage,
)
from mappings.notes import NoteTaker
from mappings.shared import given

CREDIT_UNIT = "extend_credits"

# contracts.md §5.2; the list is open, so unknown upstream reasons still pass through as read
FAILURE_REASONS = frozenset(
    {
        "ABORTED",
        "INTERNAL_ERROR",
        "FAILED_TO_PROCESS_FILE",
        "INVALID_PROCESSOR",
        "INVALID_CONFIGURATION",
        "PARSING_ERROR",
        "PRE_PROCESSING_FAILURE",
        "POST_PROCESSING_FAILURE",
        "OUT_OF_CREDITS",
    }
)


def decision_to_canonical(output: ClassifyOutput, *, notes: NoteTaker) -> canonical.Decision:
    """An Extend output as a decision; reasoning insights are joined with newlines (hazard 5)."""
    if any(i.type != "reasoning" for i in output.insights):
        notes.dropped("output.insights[].type")
    return canonical.Decision(
        category_key=output.id,
        category_name=output.type,
        confidence=float(output.confidence),
        reasoning="\n".join(i.content for i in output.insights if i.type == "reasoning"),
    )


def output_from_canonical(
    decision: canonical.Decision,
    *,
    run: canonical.ClassificationRun,
    ids: tuple[str, ...],
    default_confidence: float,
    notes: NoteTaker,
    path: str = "output",
) -> ClassifyOutput:
    """A decision as an Extend output; Extend requires an id and a confidence (hazards 3, 4)."""
    key = decision.category_key
    if key is None:
        notes.synthesized(f"{path}.id")
        key = _key_for(decision.category_name, run.config.categories, ids)
    confidence = decision.confidence if decision.confidence is not None else run.agreement
    if confidence is None:
        notes.synthesized(f"{path}.confidence")
        confidence = default_confidence
    insights = (Insight(content=decision.reasoning),) if decision.reasoning else ()
    return ClassifyOutput(
        id=key, type=decision.category_name, confidence=confidence, insights=insights
    )


def _key_for(name: str, categories: tuple[canonical.Category, ...], ids: tuple[str, ...]) -> str:
    # the same id `config.classifications[]` got for this category, so the two agree (hazard 3)
    for category, category_id in zip(categories, ids, strict=True):
        if category.name == name:
            return category_id
    return slug(name)


def failure_from_canonical(
    run: canonical.ClassificationRun, *, notes: NoteTaker
) -> tuple[str | None, str | None]:
    """`failureReason` and `failureMessage` for a run (hazard 17)."""
    error = run.error
    if error is None:
        if run.status is not canonical.Status.failed:
            return None, None
        notes.synthesized("failureReason")
        return "INTERNAL_ERROR", "The run failed."
    if error.details:
        notes.dropped("error.details")
    if error.code in FAILURE_REASONS:
        return error.code, error.message
    notes.synthesized("failureReason")  # the original code stays readable in the message
    return _failure_reason(error.code), f"{error.code}: {error.message}"


# Read from a code's words: the local backend's DOCUMENT_URL_REFUSED, DOCUMENT_FETCH_FAILED,
# INVALID_DOCUMENT and FILE_NOT_FOUND, and Retab's like them, are all the file failing (hazard 17)
_FILE_WORDS = ("FETCH", "DOWNLOAD", "DOCUMENT", "FILE")


def _failure_reason(code: str) -> str:
    upper = code.upper()
    if any(word in upper for word in _FILE_WORDS):
        return "FAILED_TO_PROCESS_FILE"
    return "OUT_OF_CREDITS" if "CREDIT" in upper else "INTERNAL_ERROR"


def failure_to_canonical(reason: str | None, message: str | None) -> canonical.RunError | None:
    """Extend's failure fields as a run error (hazard 17); None when the run has neither."""
    if reason is None and message is None:
        return None
    return canonical.RunError(code=reason or "INTERNAL_ERROR", message=message or "", details={})


def file_to_canonical(file: FileSummary) -> canonical.FileInfo:
    """A file summary as canonical; the MIME type is guessed from the name (hazard 20)."""
    metadata = given(file.metadata)
    page_count = given(metadata.page_count) if metadata is not None else None
    created = given(file.created_at)
    return canonical.FileInfo(
        id=file.id,
        filename=file.name,
        mime_type=mime_from_file(file.name, given(file.type)),
        page_count=None if page_count is None else int(page_count),
        created_at=None if created is None else parse_timestamp(created, field="file.createdAt"),
    )


def file_from_canonical(
    file: canonical.FileInfo, *, fallback_time: datetime, notes: NoteTaker
) -> FileSummary:
    """File info as Extend's summary: `type` from the MIME type (hazard 20)."""
    if file.created_at is None:
        notes.synthesized("file.createdAt")
    created = format_timestamp(file.created_at or fallback_time)
    return FileSummary(
        id=file.id,
        name=file.filename,
        type=file_type_from_mime(file.mime_type),
        metadata=FileMetadata(page_count=UNSET if file.page_count is None else file.page_count),
        created_at=created,
        updated_at=created,  # a stored file does not change after upload
    )


def usage_to_canonical(usage: RunUsage, *, notes: NoteTaker) -> canonical.Usage:
    """Extend credits, labelled as such: they do not compare with Retab's (hazard 18)."""
    if given(usage.breakdown) is not None:
        notes.dropped("usage.breakdown")
    total = given(usage.total_credits)
    return canonical.Usage(
        credits=float(usage.credits),
        total_credits=None if total is None else float(total),
        unit=CREDIT_UNIT,
    )


def usage_from_canonical(usage: canonical.Usage, *, notes: NoteTaker) -> RunUsage:
    """Usage as Extend's `{credits, totalCredits}` (hazard 18)."""
    if usage.unit != CREDIT_UNIT:
        notes.synthesized("usage.credits")  # another backend's units, passed through as is
    if usage.total_credits is None:
        notes.synthesized("usage.totalCredits")
    total = usage.credits if usage.total_credits is None else usage.total_credits
    return RunUsage(credits=usage.credits, total_credits=total)


def classifier_to_canonical(
    classifier: ClassifierSummary | None, version: ClassifierVersionSummary | None
) -> canonical.ClassifierInfo | None:
    """The saved classifier and version a run used, if any."""
    if classifier is not None:
        classifier_id = classifier.id
    elif version is not None:
        classifier_id = version.classifier_id
    else:
        return None
    return canonical.ClassifierInfo(
        id=classifier_id,
        name=None if classifier is None else classifier.name,
        version=None if version is None else version.version,
        version_id=None if version is None else version.id,
    )


def classifier_from_canonical(
    info: canonical.ClassifierInfo, *, created: datetime, notes: NoteTaker
) -> tuple[ClassifierSummary, ClassifierVersionSummary | None]:
    """Classifier info as Extend's summaries; the canonical model keeps no classifier
    timestamps, so the run's creation time stands in (hazard 19)."""
    stamp = format_timestamp(created)
    notes.synthesized("classifier.createdAt")
    notes.synthesized("classifier.updatedAt")
    if info.name is None:
        notes.synthesized("classifier.name")
    summary = ClassifierSummary(
        id=info.id, name=info.name or info.id, created_at=stamp, updated_at=stamp
    )
    if info.version is None or info.version_id is None:
        if info.version is not None:
            notes.dropped("classifierVersion")  # Extend requires the version's own id
        return summary, None
    notes.synthesized("classifierVersion.createdAt")
    version = ClassifierVersionSummary(
        id=info.version_id,
        description=None,
        version=info.version,
        classifier_id=info.id,
        created_at=stamp,
        created_by=None,
    )
    return summary, version
