"""When a failed webhook delivery is tried again: exponential backoff with full jitter, for
24 hours after its event was raised (or an operator retried it), then never (dead, visible to
`crosswalk webhooks list`).

Full jitter (a uniform draw up to the backoff) spreads the retries of many deliveries that
failed together, so an endpoint coming back is not hit by all of them at once. No I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

Draw = Callable[[float, float], float]  # a number in [low, high]; random.uniform by default
_MAX_DOUBLINGS = 64  # past this the cap has long been reached; keeps the power finite


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Backoff of `first` seconds doubling per failed attempt to `cap`; none after
    `give_up_after` seconds from the event (Extend's own 24 h)."""

    first: float = 5.0
    cap: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def backoff(self, attempts: int) -> float:
        """The most a delivery waits after its `attempts`-th failed attempt (1 for the first)."""
        return min(self.cap, self.first * 2.0 ** min(max(attempts - 1, 0), _MAX_DOUBLINGS))

    def next_attempt(
        self,
        attempts: int,
        *,
        since: datetime,
        now: datetime,
        draw: Draw = random.uniform,
    ) -> datetime | None:
        """When to try again after `attempts` failed attempts, or None: give up (dead). The
        last try is at the deadline itself, however the draw fell."""
        deadline = since + timedelta(seconds=self.give_up_after)
        if now >= deadline:
            return None
        wait = draw(0.0, self.backoff(attempts))
        return min(now + timedelta(seconds=wait), deadline)
