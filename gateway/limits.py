"""Per-key limits (`[limits]`): how many requests of one client key are served at once, and
how fast it may send them (a token bucket), each answered over the limit with a 429 and
`Retry-After` in the caller's dialect.

Keyed by the owner (a hash of the client's key) and kept in this process's memory: with N
server workers a key may get N times the configured limits, until a shared store holds them
(issue 15). Only the two surfaces are limited: health, metrics, the schema and crosswalk's own
pages are not, and neither is a request whose key is refused (its surface answers the 401).
"""

from __future__ import annotations

import math
from datetime import datetime

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway import metrics
from gateway.auth import authenticate
from gateway.clock import Clock, system_clock
from gateway.config import LimitsConfig, Settings
from gateway.dialects import dialect_of
from gateway.errors import CrosswalkError, Unauthorized
from gateway.surfaces.early_errors import answer_error

MAX_IDLE_BUCKETS = 10_000  # past this many keys, the full (idle) buckets are forgotten


class RateLimited(CrosswalkError):
    """A client key is over one of crosswalk's own limits."""

    status = 429
    code = "RATE_LIMIT_EXCEEDED"
    retryable = True


class _Bucket:
    """One key's tokens, as of `at`."""

    def __init__(self, tokens: float, at: datetime) -> None:
        self.tokens = tokens
        self.at = at


class KeyLimits:
    """The limits of one app's process, over every key: `admit` a request, `release` it."""

    def __init__(self, config: LimitsConfig, *, clock: Clock = system_clock) -> None:
        self._concurrency = config.concurrency_per_key
        self._rate = config.rate_per_key
        self._burst = float(config.burst or max(1, math.ceil(config.rate_per_key)))
        self._clock = clock
        self._serving: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}

    @property
    def configured(self) -> bool:
        return self._concurrency > 0 or self._rate > 0

    def admit(self, owner: str) -> None:
        """Count one more request of `owner` being served (`release` it when done); raises
        `RateLimited`, naming the limit in `details`, when it is over one."""
        if self._concurrency and self._serving.get(owner, 0) >= self._concurrency:
            raise _refused("concurrency", 1, f"at most {self._concurrency} at once")
        if self._rate:
            self._take(owner)
        self._serving[owner] = self._serving.get(owner, 0) + 1

    def release(self, owner: str) -> None:
        """One request of `owner` admitted before is done."""
        left = self._serving.pop(owner, 1) - 1
        if left:
            self._serving[owner] = left

    def _take(self, owner: str) -> None:
        now = self._clock()
        bucket = self._buckets.get(owner) or self._new_bucket(owner, now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
        bucket.at = now
        if bucket.tokens < 1:
            wait = math.ceil((1 - bucket.tokens) / self._rate)
            raise _refused("rate", wait, f"{self._rate:g} per second")
        bucket.tokens -= 1

    def _new_bucket(self, owner: str, now: datetime) -> _Bucket:
        if len(self._buckets) >= MAX_IDLE_BUCKETS:
            self._forget_idle(now)
        bucket = self._buckets[owner] = _Bucket(self._burst, now)
        return bucket

    def _forget_idle(self, now: datetime) -> None:
        """Drop the buckets that have refilled: a key seen again starts full anyway."""
        full = self._burst / self._rate
        for owner, bucket in list(self._buckets.items()):
            if (now - bucket.at).total_seconds() >= full:
                del self._buckets[owner]


def _refused(limit: str, retry_after: int, what: str) -> RateLimited:
    return RateLimited(
        f"Too many requests for this API key ({limit} limit: {what}); retry later.",
        details={"limit": limit},
        headers={"retry-after": str(max(1, retry_after))},
    )


class PerKeyLimits:
    """ASGI middleware: holds each surface request to its key's limits (`KeyLimits`)."""

    def __init__(self, app: ASGIApp, *, limits: KeyLimits, settings: Settings) -> None:
        self.app = app
        self._limits = limits
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dialect = dialect_of(scope["path"]) if scope["type"] == ScopeType.HTTP else None
        if dialect is None or not self._limits.configured:
            await self.app(scope, receive, send)
            return
        try:
            owner = authenticate(Headers.from_scope(scope), dialect, self._settings).owner
        except Unauthorized:
            await self.app(scope, receive, send)  # the surface answers its own 401
            return
        try:
            self._limits.admit(owner)
        except RateLimited as exc:
            metrics.rate_limited(dialect, str((exc.details or {})["limit"]))
            await answer_error(scope, receive, send, exc)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._limits.release(owner)
