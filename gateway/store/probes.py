"""What a store tells operators beyond its records: whether it can be read (`/readyz`) and
how much background work waits in it (`/metrics`), through cheap reads any store implements.
(The webhook outbox's depth is the Outbox's own `outbox_depth`.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Probed(Protocol):
    """A store's operator reads: each one cheap, none ever writes."""

    async def ping(self) -> None:
        """Return once the store answered a trivial read; raise when it cannot."""
        ...

    async def queue_depth(self, local_backends: Sequence[str]) -> int:
        """Background runs of `local_backends` queued or running."""
        ...
