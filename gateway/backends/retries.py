"""Which upstream calls are retried, how long each retry waits, and the budget that bounds them.

Only calls that cannot make anything twice are retried: reads and Retab's cancel (which
returns a finished run unchanged, hazard 25). A delete is sent again only when the first was
surely not done: nothing was sent, or the vendor answered 429, 502 or 503; after an answer
lost on the way back the delete may have worked, and a second one would tell the client 404.
Extend's cancel is not idempotent (a second cancel of a run the first one stopped is refused)
and creates are never retried: both SDKs already retry POSTs themselves, and crosswalk falls
back instead (service/fallback.py). A retry follows a failure that may pass (no connection, a
dropped or slow answer, a 429, 502 or 503), waits as the vendor's `Retry-After` says or a
full-jitter exponential backoff, never so long that the retry would have less than a floor
(the backend's connect timeout, at least a second) of the call's deadline left, and is paid
from a per-backend budget (Envoy's retry budget): at most a fifth of the calls of the last
few seconds, so that retries do not multiply an outage.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable

from gateway.errors import (
    CircuitOpen,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    UpstreamUnsent,
)
from mappings.dialects import Dialect

RETRIED_STATUSES = frozenset({429, 502, 503})
# a vendor asking for a longer wait is not held for: its Retry-After goes to the client
MAX_HELD_WAIT = 30.0
BACKOFF_BASE = 0.1  # seconds before the first retry, at most: doubled for each one after
BACKOFF_CAP = 2.0
BUDGET_RATIO = 0.2  # retries per call over the window
BUDGET_MIN = 3  # a quiet backend may still retry this many calls per window
BUDGET_WINDOW = 10.0  # seconds


MIN_RETRY_TIME = 1.0  # seconds a retry must have left of the call's deadline, at least


def idempotent(method: str, path: str, dialect: Dialect) -> bool:
    """Whether sending the call twice can do nothing the first did not, whatever became of
    the first (a DELETE is not: see `retried_failure`)."""
    if method in ("GET", "HEAD"):
        return True
    return method == "POST" and dialect == "retab" and path.endswith("/cancel")


def retried(method: str, path: str, dialect: Dialect) -> bool:
    """Whether the call may be retried at all: an idempotent one, or a DELETE (only after
    failures that show it was not done: `retried_failure`)."""
    return method == "DELETE" or idempotent(method, path, dialect)


def retried_failure(error: UpstreamError, *, idempotent: bool = True) -> bool:
    """Whether a call that raised `error` (no answer at all) may be sent again; one that is
    not idempotent only when nothing of it was sent."""
    if isinstance(error, CircuitOpen):
        return False  # nothing was tried: the circuit decides when to try
    if not idempotent:
        return isinstance(error, UpstreamUnsent)
    return isinstance(error, UpstreamUnreachable | UpstreamTimeout)


def wait_before(
    retry: int, hint: float | None, remaining: float, rng: random.Random, floor: float = 0.0
) -> float | None:
    """How long to wait before retry number `retry` (0 first), or None for no retry: the
    vendor's hint when it gave one it can be held to, else a full-jitter backoff; never a
    wait that would leave the retry less than `floor` of the call's `remaining` seconds."""
    if hint is not None:
        if hint > MAX_HELD_WAIT:
            return None
        wait = hint
    else:
        wait = rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**retry))
    return wait if wait + floor < remaining else None


class RetryBudget:
    """Retries allowed to one backend: a fifth of its calls over a sliding window, with a
    small floor so that a quiet backend can still retry."""

    def __init__(
        self,
        *,
        ratio: float = BUDGET_RATIO,
        minimum: int = BUDGET_MIN,
        window: float = BUDGET_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ratio = ratio
        self._minimum = minimum
        self._window = window
        self._clock = clock
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()

    def called(self) -> None:
        """One more call (its first attempt) was made."""
        self._calls.append(self._clock())

    def spend(self) -> bool:
        """Whether one more retry fits the budget; if it does, it is counted."""
        now = self._clock()
        for times in (self._calls, self._retries):
            while times and times[0] <= now - self._window:
                times.popleft()
        allowed = max(self._minimum, math.floor(self._ratio * len(self._calls)))
        if len(self._retries) >= allowed:
            return False
        self._retries.append(now)
        return True
