"""The run an input becomes when it cannot be created (a vendor's 4xx, an unreadable file, a
classifier gone): a FAILED run of the batch, recorded and listed like any other, so that no
input vanishes. It exists only in the ledger: reads never ask a backend about it.
"""

from __future__ import annotations

from datetime import datetime

from gateway.classifiers import ClassifierNotFound
from gateway.errors import CrosswalkError
from gateway.store.batch_records import ClaimedInput
from gateway.store.records import BatchSlot, RunRecord, new_record, not_created_id
from mappings import canonical
from mappings.errors import TranslationError

# Extend's failure reasons (contracts.md §5.2) for why an input made no run
_FILE = "FAILED_TO_PROCESS_FILE"
_CONFIG = "INVALID_CONFIGURATION"
_INTERNAL = "INTERNAL_ERROR"


def failed_record(
    claimed: ClaimedInput,
    request: canonical.ClassifyRequest | None,
    error: canonical.RunError,
    now: datetime,
) -> RunRecord:
    """The record of the failed run standing for `claimed`; `request` when it could be read."""
    run = canonical.ClassificationRun(
        id=not_created_id(claimed.batch_id, claimed.index),
        status=canonical.Status.failed,
        config=canonical.RunConfig(categories=()) if request is None else request.config,
        created_at=now,
        updated_at=now,
        error=error,
        metadata=None if request is None else request.metadata,
    )
    slot = BatchSlot(batch_id=claimed.batch_id, index=claimed.index)
    return new_record(
        claimed.backend, run, request, surface="extend", owner=claimed.owner, now=now, batch=slot
    )


def error_of(exc: Exception) -> canonical.RunError:
    """Why an input made no run, in Extend's failure reasons; never a stack trace."""
    if isinstance(exc, TranslationError):
        return canonical.RunError(code=_FILE, message=f"{exc.field}: {exc.reason}")
    if not isinstance(exc, CrosswalkError):
        return canonical.RunError(code=_INTERNAL, message="An unexpected error occurred.")
    if exc.status >= 500:
        return canonical.RunError(code=_INTERNAL, message=exc.message)
    code = _CONFIG if isinstance(exc, ClassifierNotFound) else _FILE
    return canonical.RunError(code=code, message=exc.message)
