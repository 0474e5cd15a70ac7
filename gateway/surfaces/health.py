"""`GET /healthz`, `GET /readyz` and `GET /metrics`: what load balancers and Prometheus read
(design.md §8).

None of them needs a key: load balancers and scrapers probe without one. None says anything
a key would guard: no config, no URL, no secret, no run — only states and counts.

- `/healthz`: the process answers (no I/O at all): 200 `{"status":"ok"}`.
- `/readyz`: the store answers a trivial read, and each backend's circuit state (read from
  the backend, never by calling its vendor): 200 `{"status":"ready",...}`, or 503
  `{"status":"not_ready","reasons":[...],...}` when the store cannot be read.
- `/metrics`: Prometheus' text format, every worker's samples added up (gateway/metrics.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import msgspec
import structlog
from litestar import Response, Router, get
from litestar.datastructures import State

from gateway import metrics
from gateway.store.probes import Probed

HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS = "/metrics"
CLOSED = "closed"
JSON = "application/json"
log = structlog.get_logger("crosswalk.health")


@runtime_checkable
class Circuited(Protocol):
    """A backend with a circuit breaker (gateway/backends/circuit.py) reports its state:
    "closed" (serving), "half_open" (probing) or "open" (ejected for a cool-down). A backend
    without one is always "closed"."""

    def circuit_state(self) -> str: ...


def circuit_state(backend: object) -> str:
    """`backend`'s circuit state, "closed" for a backend that has no circuit."""
    return backend.circuit_state() if isinstance(backend, Circuited) else CLOSED


class Readiness:
    """Whether this process can serve: its store readable; its backends' circuits shown."""

    def __init__(self, store: Probed, backends: Mapping[str, object]) -> None:
        self._store = store
        self._backends = backends

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the body saying why) — reads the store once, calls no vendor."""
        reasons = []
        try:
            await self._store.ping()
            store = "ok"
        except Exception as exc:  # whatever the store raised, it cannot serve; a 503 says so
            # the exception's type only: its message may name the store's URL and password
            log.warning("readiness.store_unreachable", error=type(exc).__name__)
            store = "unreachable"
            reasons.append("the store cannot be read")
        circuits = {name: circuit_state(backend) for name, backend in self._backends.items()}
        body: dict[str, Any] = {
            "status": "not_ready" if reasons else "ready",
            "store": store,
            "backends": {name: {"circuit": state} for name, state in circuits.items()},
        }
        if reasons:
            body["reasons"] = reasons
        return not reasons, body


@get(HEALTHZ, include_in_schema=False)
async def healthz() -> Response[bytes]:
    """The process is alive: answered with no I/O."""
    return _json({"status": "ok"}, 200)


@get(READYZ, include_in_schema=False)
async def readyz(state: State) -> Response[bytes]:
    """Ready to serve: 200, or 503 with the reasons."""
    readiness: Readiness = state.readiness
    ready, body = await readiness.check()
    return _json(body, 200 if ready else 503)


@get(METRICS, include_in_schema=False, sync_to_thread=True)  # reads the workers' files
def metrics_text() -> Response[bytes]:
    """Every metric, every worker's, in Prometheus' text format."""
    return Response(
        content=metrics.exposition(),
        status_code=200,
        headers={"content-type": metrics.CONTENT_TYPE},
    )


def _json(body: Any, status: int) -> Response[bytes]:
    # no-store: a cached probe answer would hide a change of state
    headers = {"cache-control": "no-store"}
    return Response(
        content=msgspec.json.encode(body), status_code=status, media_type=JSON, headers=headers
    )


router = Router(path="/", route_handlers=[healthz, readyz, metrics_text])
