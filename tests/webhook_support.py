"""What webhook tests share: endpoint settings, a clock tests move on, request bodies, and the
subscriber's own check of a delivery (extend_ai's `verify_and_parse`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from extend_ai import Extend
from litestar.testing import TestClient

from gateway.clock import Clock, system_clock
from gateway.config import LocalBackendConfig, Secret, WebhookEndpoint
from tests.harness import local_settings, running

# bodies of small runs, as the clock tests send them (re-exported)
from tests.test_clock import EXTEND_BODY as EXTEND_BODY
from tests.test_clock import RETAB_BODY as RETAB_BODY
from tests.webhook_receiver import ACCEPT, Answer, Received, Receiver, receiving

SECRET = "wss_test_subscriber_secret"
RETAB = {"authorization": "Bearer key-a"}
EXTEND = RETAB | {"x-extend-api-version": "2026-02-09"}
_sdk = Extend(token="unused")


def endpoint(url: str, *, name: str = "hooks", **options: Any) -> WebhookEndpoint:
    """A `[[webhooks]]` endpoint on a loopback receiver (so private addresses are allowed),
    taking every event crosswalk raises unless `events` says otherwise."""
    defaults: dict[str, Any] = {
        "events": (
            "classify_run.processed",
            "classify_run.failed",
            "classify_run.cancelled",
            "batch_processor_run.processed",
            "batch_processor_run.failed",
        ),
        "allow_private": True,
    }
    return WebhookEndpoint(name=name, url=url, secret=Secret(SECRET), **(defaults | options))


def verify(received: Received, *, max_age_seconds: int = 300) -> Any:
    """The delivery as a subscriber's extend_ai reads it; raises if it does not verify."""
    return _sdk.webhooks.verify_and_parse(
        received.body, received.headers, SECRET, max_age_seconds=max_age_seconds
    )


class MovableClock:
    """The wall clock plus an offset a test moves forward (backoffs, leases, the 24 h
    window pass without sleeping); thread-safe, as the app reads it in its own thread."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._offset += timedelta(**delta)

    def moving(self, predicate: Callable[[], bool], **delta: float) -> Callable[[], bool]:
        """`predicate`, moving time on by `delta` each time it is asked (for `wait_until`)."""

        def check() -> bool:
            self.advance(**delta)
            return predicate()

        return check


@contextmanager
def hooked(
    tmp_path: Path,
    local: LocalBackendConfig | None = None,
    *,
    answer: Answer = ACCEPT,
    clock: Clock = system_clock,
    **options: Any,
) -> Iterator[tuple[Receiver, TestClient[Any]]]:
    """A receiver, and a started local gateway delivering every event to it."""
    with receiving(answer=answer) as receiver:
        hooks = (endpoint(receiver.url, **options),)
        with running(local_settings(tmp_path, local, webhooks=hooks), clock=clock) as client:
            yield receiver, client
