"""The supervised loop that keeps `/metrics`' queue and outbox gauges current: every few
seconds it counts both in the ledger (two indexed counts on a reader thread)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway import metrics
from gateway.store.probes import Probed
from gateway.store.webhook_outbox import Outbox
from gateway.supervisor import Supervisor

DEPTHS_SECONDS = 15.0  # Prometheus' usual scrape interval: fresher would go unread
LOOP = "depth-gauges"


def start_depth_gauges(
    supervisor: Supervisor, store: Probed, outbox: Outbox, local_backends: Sequence[str]
) -> None:
    """Count the queue of `local_backends` and the outbox now, then every DEPTHS_SECONDS."""

    async def step() -> bool:
        queue = await store.queue_depth(local_backends)
        metrics.depths_read(queue, await outbox.outbox_depth())
        return False

    supervisor.start(LOOP, step, idle=DEPTHS_SECONDS)
