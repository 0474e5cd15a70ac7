"""The run an input becomes when it cannot be created (a vendor's 4xx, an unreadable file, a
create that may or may not have reached the vendor): a FAILED run of the batch, recorded and
listed like any other, so that no input vanishes. It exists only in the ledger: reads never
ask a backend about it.

Which failures are retried: only those where the create surely never reached the vendor (no
connection could be made, or a 429, which makes nothing). A create the vendor may have
received (a timeout, a 5xx, a dropped connection) is never sent again (contracts.md §9): it
would make the run twice.
"""

from __future__ import annotations

from datetime import datetime

from gateway.classifiers import ClassifierNotFound
from gateway.errors import (
    CrosswalkError,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnsent,
)
from gateway.store.batch_records import ClaimedInput
from gateway.store.records import BatchSlot, RunRecord, new_record, not_created_id
from mappings import canonical
from mappings.errors import TranslationError

# Extend's failure reasons (contracts.md §5.2) for why an input made no run
_FILE = "FAILED_TO_PROCESS_FILE"
_CONFIG = "INVALID_CONFIGURATION"
_INTERNAL = "INTERNAL_ERROR"
_CREDITS = "OUT_OF_CREDITS"
# a vendor's 4xx that is about the input's document; any other (a key refused, a conflict,
# a rate limit that outlasted the retries) is not the file's fault
_FILE_STATUSES = frozenset({400, 404, 413, 415, 422})
RATE_LIMITED = 429
MAYBE_MADE = (
    " The vendor may or may not have made a run for this input; crosswalk did not send it "
    "again, so as not to make it twice."
)


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


def never_sent(exc: Exception) -> bool:
    """Whether a create that failed surely made nothing at the vendor, so that sending it
    again cannot make its run twice: no connection was made, or the vendor said 429."""
    if isinstance(exc, UpstreamUnsent):
        return True
    return isinstance(exc, UpstreamRejected) and exc.status == RATE_LIMITED


def error_of(exc: Exception) -> canonical.RunError:
    """Why an input made no run, in Extend's failure reasons; never a stack trace."""
    if isinstance(exc, TranslationError):
        return canonical.RunError(code=_FILE, message=f"{exc.field}: {exc.reason}")
    if not isinstance(exc, CrosswalkError):
        return canonical.RunError(code=_INTERNAL, message="An unexpected error occurred.")
    if isinstance(exc, UpstreamRejected):
        return canonical.RunError(code=_rejected(exc.status), message=_vendor_said(exc))
    if isinstance(exc, UpstreamError) and not never_sent(exc):
        return canonical.RunError(code=_INTERNAL, message=exc.message + MAYBE_MADE)
    if exc.status >= 500:
        return canonical.RunError(code=_INTERNAL, message=exc.message)
    code = _CONFIG if isinstance(exc, ClassifierNotFound) else _FILE
    return canonical.RunError(code=code, message=exc.message)


def _rejected(status: int) -> str:
    if status in _FILE_STATUSES:
        return _FILE
    return _CREDITS if status == 402 else _INTERNAL


def _vendor_said(exc: UpstreamRejected) -> str:
    if exc.status in _FILE_STATUSES:
        return exc.message
    return f"The vendor refused the run (HTTP {exc.status}): {exc.message}"
