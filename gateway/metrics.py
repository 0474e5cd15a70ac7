"""The gateway's Prometheus metrics (design.md §8): every counter, histogram and gauge
crosswalk exports, defined once here and recorded through the small functions below, so a
metric's name and labels are spelled in one place.

Labels are bounded sets only (surface, backend name, HTTP status, a mapped field's name, a
loop's name): never a key, a run id, a URL or a document. Served by `GET /metrics`
(gateway/surfaces/health.py). With several server processes, `PROMETHEUS_MULTIPROC_DIR` must
be set before this module is first imported (`prepare_multiprocess`, from `crosswalk serve`),
and gauges add up across the live processes.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# request latencies run from a cached read (~1 ms) to a sync classification (minutes)
_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
)  # fmt: skip
# the gateway's own share of a request: well under a millisecond when healthy
_OVERHEAD_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip

REQUESTS = Counter(
    "crosswalk_requests",
    "Requests answered, by surface, backend and HTTP status.",
    ["surface", "backend", "status"],
)
REQUEST_SECONDS = Histogram(
    "crosswalk_request_duration_seconds",
    "Time from a request's arrival to its answer, by surface, backend and HTTP status.",
    ["surface", "backend", "status"],
    buckets=_LATENCY_BUCKETS,
)
OVERHEAD_SECONDS = Histogram(
    "crosswalk_overhead_seconds",
    "A request's time spent in the gateway itself (its duration less its upstream calls).",
    ["surface", "backend"],
    buckets=_OVERHEAD_BUCKETS,
)
UPSTREAM_SECONDS = Histogram(
    "crosswalk_upstream_duration_seconds",
    "Upstream calls' duration, by backend and the vendor's HTTP status (or 'error').",
    ["backend", "status"],
    buckets=_LATENCY_BUCKETS,
)
TRANSLATION_LOSSES = Counter(
    "crosswalk_translation_losses",
    "Fields translation dropped or synthesized (named in crosswalk-translation), by field.",
    ["surface", "field"],
)
RETRIES = Counter(
    "crosswalk_upstream_retries",
    "Idempotent upstream calls retried, by backend.",
    ["backend"],
)
CIRCUIT_STATE = Gauge(
    "crosswalk_circuit_state",
    "Each backend's circuit: 0 closed, 1 half-open (probing), 2 open (ejected).",
    ["backend"],
    multiprocess_mode="livemax",
)
IN_FLIGHT = Gauge(
    "crosswalk_in_flight_requests",
    "Requests being served now, by surface.",
    ["surface"],
    multiprocess_mode="livesum",
)
QUEUE_DEPTH = Gauge(
    "crosswalk_queue_depth",
    "Local-backend background runs waiting or running, as last read from the ledger.",
    multiprocess_mode="livemax",
)
OUTBOX_DEPTH = Gauge(
    "crosswalk_webhook_outbox_depth",
    "Webhook deliveries still owed, as last read from the ledger.",
    multiprocess_mode="livemax",
)
LOOP_RESTARTS = Counter(
    "crosswalk_background_restarts",
    "Background loops restarted by their supervisor after a failure, by loop.",
    ["loop"],
)
SHADOW_DISAGREEMENTS = Counter(
    "crosswalk_shadow_disagreements",
    "Shadowed documents on which the primary and the shadow gave different labels.",
    ["primary", "shadow"],
)
IDEMPOTENT_REPLAYS = Counter(
    "crosswalk_idempotent_replays",
    "Creates answered from an earlier create with the same Idempotency-Key, by surface.",
    ["surface"],
)
RATE_LIMITED = Counter(
    "crosswalk_rate_limited",
    "Requests refused with a 429 by crosswalk's own per-key limits, by surface and limit.",
    ["surface", "limit"],
)


def upstream_retried(backend: str) -> None:
    RETRIES.labels(backend=backend).inc()


def circuit_changed(backend: str, state: int) -> None:
    """0 closed, 1 half-open, 2 open."""
    CIRCUIT_STATE.labels(backend=backend).set(state)


def loop_restarted(loop: str) -> None:
    LOOP_RESTARTS.labels(loop=loop).inc()


def idempotent_replay(surface: str) -> None:
    IDEMPOTENT_REPLAYS.labels(surface=surface).inc()


def rate_limited(surface: str, limit: str) -> None:
    RATE_LIMITED.labels(surface=surface, limit=limit).inc()


def shadow_disagreed(primary: str, shadow: str) -> None:
    SHADOW_DISAGREEMENTS.labels(primary=primary, shadow=shadow).inc()


# the time this request spent waiting on upstream calls, so that its overhead (duration less
# upstream time) can be told apart; set per request by the middleware, added to by each call
_upstream_seconds: ContextVar[list[float] | None] = ContextVar("upstream_seconds", default=None)


def start_request() -> None:
    """Begin counting the current request's upstream time (the middleware, per request)."""
    _upstream_seconds.set([0.0])


@functools.lru_cache(maxsize=4096)
def _labelled(metric: Any, *values: str) -> Any:
    """`metric`'s child for these label values (in its labels' order), found once: every
    request records a few, and prometheus-client's `labels()` checks and locks on each call
    (about 4 µs; 6 a request, on a busy 2-core machine: `python -m bench.profile_path --kind
    metrics`). Label sets are bounded (module docstring), so the cache holds them all."""
    return metric.labels(*values)


def upstream_called(backend: str, status: str, seconds: float) -> None:
    """One upstream call of `backend` took `seconds` and ended in `status` (the vendor's HTTP
    status, or "error" when none came back)."""
    _labelled(UPSTREAM_SECONDS, backend, status).observe(seconds)
    spent = _upstream_seconds.get()
    if spent is not None:
        spent[0] += seconds


def upstream_total() -> float:
    """The current request's upstream time so far (0 outside a request)."""
    spent = _upstream_seconds.get()
    return 0.0 if spent is None else spent[0]


def prepare_multiprocess(workers: int) -> str | None:
    """With several server processes, point prometheus-client at a fresh private directory
    (removed when this process exits) before the workers start: each worker, importing this
    module anew, then writes its samples there and `/metrics` adds them up. The parent's own
    registry is never served, so it having imported prometheus-client already is harmless."""
    if workers <= 1:
        return None
    directory = tempfile.mkdtemp(prefix="crosswalk-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def process_exiting() -> None:
    """This worker stops: its live gauges (in-flight, depths, circuits) stop counting."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# a sample file's name ends in the pid of the process that wrote it: `gauge_livesum_123.db`
_SAMPLE_PID = re.compile(r"_([0-9]+)\.db$")


def _mark_dead_workers(directory: str) -> None:
    """A worker killed without its shutdown leaves live gauges behind; drop them."""
    for path in Path(directory).glob("gauge_live*.db"):
        found = _SAMPLE_PID.search(path.name)
        if found and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed worker its parent has not reaped yet still answers signal 0 (Linux: /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc here (or gone meanwhile): trust signal 0
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def exposition(directory: str | None = None) -> bytes:
    """Every metric in Prometheus' text format: this process's, or with a multiprocess
    directory (by default the environment's) every worker's, the dead ones' counts included."""
    directory = directory or os.environ.get(MULTIPROCESS_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    _mark_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def request_started(surface: str) -> None:
    """A request to `surface` came in (the middleware): counted in flight until it ends."""
    _labelled(IN_FLIGHT, surface).inc()
    start_request()


def request_ended(
    *, surface: str, backend: str, status: int, seconds: float, in_flight_as: str
) -> None:
    """A request ended with `status` after `seconds`: its counts, latency and overhead.
    `in_flight_as` is the surface it was counted in flight as when it started."""
    _labelled(IN_FLIGHT, in_flight_as).dec()
    code = str(status)
    _labelled(REQUESTS, surface, backend, code).inc()
    _labelled(REQUEST_SECONDS, surface, backend, code).observe(seconds)
    _labelled(OVERHEAD_SECONDS, surface, backend).observe(max(0.0, seconds - upstream_total()))


# a note's path with its list indices folded (`categories[3].name` → `categories[].name`),
# so a label's values stay a small set; anything unexpected is not a label at all
_INDEX = re.compile(r"\[[0-9]+\]")
_FIELD = re.compile(r"[A-Za-z0-9_.\[\]]{1,80}")


def translation_lost(surface: str, fields: Iterable[str]) -> None:
    """Count the fields one answer's `crosswalk-translation` named, once each."""
    for field in dict.fromkeys(_INDEX.sub("[]", f.strip()) for f in fields):
        if _FIELD.fullmatch(field):
            _labelled(TRANSLATION_LOSSES, surface, field).inc()


def depths_read(queue: int, outbox: int) -> None:
    """The ledger's background queue and webhook outbox, as just counted."""
    QUEUE_DEPTH.set(queue)
    OUTBOX_DEPTH.set(outbox)
