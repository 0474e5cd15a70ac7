"""A webhook endpoint that never answers slows neither the API nor other endpoints: API
latency is measured beside a gateway whose receiver answers at once, and compared as a ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.harness import local_settings, running, wait_until
from tests.webhook_receiver import receiving
from tests.webhook_support import EXTEND, EXTEND_BODY, endpoint

SAMPLES = 15
PER_ENDPOINT = 4  # the dispatcher's cap of deliveries in flight per endpoint


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _create_and_get(client: TestClient[Any]) -> float:
    """Seconds for a sync create and a get of the run it made."""

    def both() -> None:
        run = client.post("/classify", json=EXTEND_BODY, headers=EXTEND).json()
        assert client.get(f"/classify_runs/{run['id']}", headers=EXTEND).status_code == 200

    return _timed(both)


def test_a_hanging_endpoint_changes_neither_api_latency_nor_other_deliveries(
    tmp_path: Path,
) -> None:
    """With one endpoint holding every delivery open, creates and gets take about as long as
    on a gateway whose receiver answers at once (median ratio under 2), the held deliveries
    stay within the per-endpoint cap, and another endpoint still gets every event."""
    (tmp_path / "hung").mkdir()
    (tmp_path / "fast").mkdir()
    with (
        receiving(hang=True) as hung,
        receiving() as beside,
        receiving() as fast,
    ):
        hooks = (endpoint(hung.url, name="hung"), endpoint(beside.url, name="beside"))
        slowed = local_settings(tmp_path / "hung", webhooks=hooks)
        control = local_settings(tmp_path / "fast", webhooks=(endpoint(fast.url),))
        with running(slowed) as slow_app, running(control) as fast_app:
            for _ in range(PER_ENDPOINT + 2):  # more events than the hung endpoint may hold
                _create_and_get(slow_app)
            wait_until(lambda: hung.hanging == PER_ENDPOINT)
            with_hang, without = [], []
            for _ in range(SAMPLES):  # interleaved, so load on the machine hits both alike
                with_hang.append(_create_and_get(slow_app))
                without.append(_create_and_get(fast_app))
            made = PER_ENDPOINT + 2 + SAMPLES
            wait_until(lambda: len(beside.accepted()) == made)
            wait_until(lambda: len(fast.accepted()) == SAMPLES)  # before its gateway stops
            held = hung.hanging
    ratio = statistics.median(with_hang) / statistics.median(without)
    assert ratio < 2, (ratio, with_hang, without)
    assert held == PER_ENDPOINT
    assert len(fast.accepted()) == SAMPLES
