"""A vendor backend's circuit breaker: a backend that keeps failing is ejected for a cool-down.

`failures` consecutive failed attempts (no connection, a timeout, a 5xx; never a 4xx, which
is the request's fault, not the backend's) open the circuit: for `cooldown` seconds every call
fails fast with `CircuitOpen`, a 503 with `Retry-After` (or a fallback, for a create). Then
one call is let through as a probe (half-open): its success closes the circuit, its failure
opens it for another cool-down; other calls meanwhile fail fast. A probe cancelled before it
had an answer decides nothing, and the next call probes instead. Each change is recorded in
`crosswalk_circuit_state` (0 closed, 1 half-open, 2 open).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

import structlog

from gateway import metrics
from gateway.errors import CircuitOpen

CircuitState = Literal["closed", "half_open", "open"]
_GAUGE: dict[CircuitState, int] = {"closed": 0, "half_open": 1, "open": 2}
log = structlog.get_logger("crosswalk.circuit")


class Circuit:
    """The circuit of one backend; `enter` before each attempt, then `record` or `release`."""

    def __init__(
        self,
        backend: str,
        *,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self._threshold = failures
        self._cooldown = cooldown
        self._clock = clock
        self._state: CircuitState = "closed"
        self._failed = 0  # consecutive failed attempts
        self._until = 0.0  # when an open circuit lets a probe through
        self._probing = False
        metrics.circuit_changed(backend, 0)

    def state(self) -> CircuitState:
        """What the next call would meet: an open circuit past its cool-down is half-open."""
        if self._state == "open" and self._clock() >= self._until:
            return "half_open"
        return self._state

    def enter(self) -> bool:
        """Admit one attempt, or raise CircuitOpen; True when the attempt is the probe."""
        now = self._clock()
        if self._state == "open":
            if now < self._until:
                raise self._refusal(self._until - now)
            self._change("half_open")
            self._probing = False
        if self._state == "half_open":
            if self._probing:
                raise self._refusal(1.0)  # the probe's answer is due: soon, one way or the other
            self._probing = True
            return True
        return False

    def record(self, *, failed: bool, probe: bool) -> None:
        """The outcome of an admitted attempt."""
        if not failed:
            self._failed = 0
            if self._state != "closed":
                self._change("closed")
            return
        self._failed += 1
        # while half-open only the probe decides: older calls' failures are already counted
        if probe or (self._state == "closed" and self._failed >= self._threshold):
            self._until = self._clock() + self._cooldown
            self._change("open")
            log.warning(
                "circuit.opened", backend=self.backend, failures=self._failed,
                cooldown=self._cooldown,
            )  # fmt: skip

    def release(self, *, probe: bool) -> None:
        """An admitted attempt ended with no outcome (cancelled): a probe frees its place."""
        if probe and self._state == "half_open":
            self._probing = False

    def _change(self, state: CircuitState) -> None:
        self._state = state
        self._probing = False
        metrics.circuit_changed(self.backend, _GAUGE[state])

    def _refusal(self, wait: float) -> CircuitOpen:
        seconds = max(1, math.ceil(wait))
        return CircuitOpen(
            f"Backend {self.backend} is failing and was taken out of service; "
            f"try again in {seconds} s.",
            headers={"retry-after": str(seconds)},
        )
