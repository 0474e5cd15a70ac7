"""Extend-shaped webhook events for runs on any backend (contracts.md §8, hazard 27).

Which event a run's terminal status raises, every event type a `[[webhooks]]` endpoint may
subscribe to, and the event itself. Extend has no event for a cancelled classify run;
`classify_run.cancelled` is crosswalk's own, delivered only to endpoints subscribed to it
(or to every event). Signing and delivery are I/O and live in the gateway. Imports only the
stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from mappings import canonical
from mappings.extend.resources import WebhookEvent
from mappings.extend.runs import response_from_canonical
from mappings.models import DEFAULT_MODELS, ModelTable

RUN_PROCESSED = "classify_run.processed"
RUN_FAILED = "classify_run.failed"
RUN_CANCELLED = "classify_run.cancelled"  # crosswalk's own: Extend's enum has none
BATCH_PROCESSED = "batch_processor_run.processed"
BATCH_FAILED = "batch_processor_run.failed"

RUN_EVENTS = (RUN_PROCESSED, RUN_FAILED, RUN_CANCELLED)
BATCH_EVENTS = (BATCH_PROCESSED, BATCH_FAILED)
EVENT_TYPES = RUN_EVENTS + BATCH_EVENTS

_BY_STATUS = {
    canonical.Status.completed: RUN_PROCESSED,
    canonical.Status.failed: RUN_FAILED,
    canonical.Status.cancelled: RUN_CANCELLED,
}


def run_event_type(status: canonical.Status) -> str | None:
    """The event a run raises on reaching `status`; None for a status that is not terminal."""
    return _BY_STATUS.get(status)


def webhook_event_from_canonical(
    run: canonical.ClassificationRun,
    *,
    public_id: str,
    event_id: str,
    models: ModelTable = DEFAULT_MODELS,
    dashboard_url: str = "",
) -> WebhookEvent | None:
    """The event for a run in this state, or None while it is not terminal."""
    event_type = run_event_type(run.status)
    if event_type is None:
        return None
    payload, _ = response_from_canonical(
        run, public_id=public_id, models=models, dashboard_url=dashboard_url
    )
    return WebhookEvent(event_id=event_id, event_type=event_type, payload=payload)
