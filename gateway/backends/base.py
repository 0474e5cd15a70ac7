"""The seam between surfaces and whoever does the work (design.md §4).

A surface never talks to a vendor and a backend never renders a client's dialect: both meet
here, over canonical types. Listing is served from the ledger (hazard 23), so it is not part
of the protocol. The small Protocols below are what one backend may ask of another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import httpx

from gateway.backends.circuit import CircuitState
from gateway.context import CallContext
from gateway.store.records import RunRecord
from mappings import canonical, extend
from mappings.dialects import Dialect

Query = Sequence[tuple[str, str]]
# records a run the vendor has accepted, before the backend waits for it to finish
Accepted = Callable[[canonical.ClassificationRun], Awaitable[None]]


class Relay(Protocol):
    """A vendor connection that relays a same-vendor client's request as it came."""

    @property
    def proxies_client_keys(self) -> bool:
        """True when crosswalk holds no key for this vendor and forwards the client's."""
        ...

    async def forward(
        self,
        method: str,
        path: str,
        *,
        call: CallContext,
        params: Query = (),
        content: bytes | None = None,
    ) -> httpx.Response:
        """The vendor's answer to the request, whatever its status."""
        ...


class Backend(Protocol):
    """Creates and manages runs for one configured backend."""

    @property
    def name(self) -> str:
        """The backend's name in the config (`[backends.<name>]`)."""
        ...

    @property
    def dialect(self) -> Dialect | None:
        """The vendor dialect it speaks upstream, or None for the local engine."""
        ...

    @property
    def relay(self) -> Relay | None:
        """Its vendor connection, for same-vendor pass-through; None for the local engine."""
        ...

    def circuit_state(self) -> CircuitState:
        """Whether calls reach its vendor now (backends/circuit.py); the local engine's is
        always closed."""
        ...

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,
    ) -> canonical.ClassificationRun:
        """Start a run: finished for a sync request, queued or running for a background one.
        A sync run that exists upstream before it finishes (created, then polled) is handed to
        `accepted` as soon as it exists, so it is recorded even if its caller stops waiting."""
        ...

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        """The run's current state."""
        ...

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        """Stop a run that has not finished; a finished run comes back unchanged."""
        ...

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        """Forget the run upstream (the ledger entry is removed by the caller)."""
        ...


class FileSource(Protocol):
    """Resolves one vendor's file id to a document another vendor can take (hazards 11, 12)."""

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.Document:
        """The document the file id stands for."""
        ...


class ClassifierSource(Protocol):
    """Reads saved classifiers, to inline one for a backend that has none (hazard 10)."""

    async def saved_version(
        self, ref: canonical.ClassifierRef, *, call: CallContext
    ) -> extend.ClassifierVersion:
        """The saved classifier version a `classifier: {id, version}` reference runs."""
        ...
