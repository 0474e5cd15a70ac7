"""Extend-shaped webhook events for runs on any backend (contracts.md §8, hazard 27).

Signing and delivery are I/O and live in the gateway. Imports only the stdlib, msgspec and
`mappings`.
"""

from __future__ import annotations

from mappings import canonical
from mappings.extend.resources import WebhookEvent
from mappings.extend.runs import response_from_canonical
from mappings.models import DEFAULT_MODELS, ModelTable

# Extend has no `classify_run.cancelled` event (SDK enum), so cancelled runs send nothing
EVENT_TYPES = {
    canonical.Status.completed: "classify_run.processed",
    canonical.Status.failed: "classify_run.failed",
}


def webhook_event_from_canonical(
    run: canonical.ClassificationRun,
    *,
    public_id: str,
    event_id: str,
    models: ModelTable = DEFAULT_MODELS,
    dashboard_url: str = "",
) -> WebhookEvent | None:
    """The event Extend would send for a run in this state, or None when it sends none."""
    event_type = EVENT_TYPES.get(run.status)
    if event_type is None:
        return None
    payload, _ = response_from_canonical(
        run, public_id=public_id, models=models, dashboard_url=dashboard_url
    )
    return WebhookEvent(event_id=event_id, event_type=event_type, payload=payload)
