"""The seam between surfaces and whoever does the work (design.md §4).

A surface never talks to a vendor and a backend never renders a client's dialect: both meet
here, over canonical types. Listing is served from the ledger (hazard 23), so it is not part
of the protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import msgspec

from gateway.auth import Principal
from gateway.store.records import RunRecord
from mappings import canonical
from mappings.notes import NoteTaker

if TYPE_CHECKING:  # upstream.py needs CallContext from here
    from gateway.backends.upstream import Upstream


class CallContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a backend may need to know about the client request it serves.

    `surface` is the dialect the client speaks; `forward` the client headers a same-vendor
    upstream must see (Extend's workspace id); `notes` collects what the backend's own
    translations synthesized or dropped, for the `crosswalk-translation` header.
    """

    request_id: str
    principal: Principal
    surface: str = ""
    forward: dict[str, str] = msgspec.field(default_factory=dict)
    notes: NoteTaker = msgspec.field(default_factory=NoteTaker)


class Backend(Protocol):
    """Creates and manages runs for one configured backend."""

    @property
    def name(self) -> str:
        """The backend's name in the config (`[backends.<name>]`)."""
        ...

    @property
    def dialect(self) -> str | None:
        """The vendor dialect it speaks upstream, or None for the local engine."""
        ...

    async def create(
        self, request: canonical.ClassifyRequest, *, call: CallContext
    ) -> canonical.ClassificationRun:
        """Start a run: finished for a sync request, queued or running for a background one."""
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


class Forwarding(Backend, Protocol):
    """A vendor backend, which can also relay a same-vendor client's request as it came."""

    @property
    def upstream(self) -> Upstream:
        """Its connection to the vendor (gateway/backends/upstream.py)."""
        ...


# resolves one vendor's file id to a document another vendor can take (hazards 11, 12)
FileResolver = Callable[..., Awaitable[canonical.Document]]

# inlines a request's saved classifier for a backend that has none (hazard 10)
ClassifierResolver = Callable[
    [canonical.ClassifyRequest, CallContext], Awaitable[canonical.ClassifyRequest]
]
