"""What a store tells operators: whether it can be read (`/readyz`) and how much work waits
in it (`/metrics`), through cheap reads that any store implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec


class Depths(msgspec.Struct, frozen=True, kw_only=True):
    """Work waiting in the store: local background runs queued or running, and webhook
    deliveries still owed."""

    queue: int
    outbox: int


class Probed(Protocol):
    """A store's operator reads: each one cheap, none ever writes."""

    async def ping(self) -> None:
        """Return once the store answered a trivial read; raise when it cannot."""
        ...

    async def depths(self, local_backends: Sequence[str]) -> Depths:
        """The queue (runs of `local_backends` not yet finished) and the outbox, counted."""
        ...
