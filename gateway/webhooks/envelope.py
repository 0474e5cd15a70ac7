"""An outbox event as the body Extend would send: `{eventId, eventType, payload}`, compact.

A 'run' event's payload is the run as Extend's `ClassifyRun`, exactly as the Extend surface
renders it (public id, dashboardUrl), whichever surface and backend made the run; a 'batch'
event's payload is its BatchRun JSON and a 'raw' one an Extend event's payload relayed
verbatim, both as stored. The body is rendered again at each attempt from the stored event,
so it is the same bytes every time.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from gateway.store.records import Delivery, RunSnapshot
from mappings import extend, ids
from mappings.dialects import Dialect

_snapshot = msgspec.json.Decoder(RunSnapshot)


class Envelope(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Extend's webhook body, keys in Extend's order (contracts.md §8)."""

    event_id: str
    event_type: str
    payload: msgspec.Raw


class Renderer:
    """Renders deliveries' bodies for a deployment: its backends' dialects (for public ids)
    and the public URL the Extend surface's dashboard links start with."""

    def __init__(self, dialects: Mapping[str, Dialect | None], *, public_url: str) -> None:
        self._dialects = dialects
        self._public_url = public_url

    def body(self, delivery: Delivery) -> bytes:
        """The exact bytes delivered (and signed) for `delivery`."""
        payload = self.run(delivery.data) if delivery.kind == "run" else delivery.data
        envelope = Envelope(
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payload=msgspec.Raw(payload),
        )
        return msgspec.json.encode(envelope)

    def run(self, data: bytes) -> bytes:
        """A stored run snapshot as Extend's `ClassifyRun` JSON."""
        snapshot = _snapshot.decode(data)
        dialect = self._dialects.get(snapshot.backend)
        public_id = ids.encode("extend", snapshot.backend, dialect, snapshot.upstream_id)
        body, _ = extend.response_from_canonical(
            snapshot.run,
            public_id=public_id,
            dashboard_url=f"{self._public_url}/classify_runs/{public_id}",
        )
        return msgspec.json.encode(body)
