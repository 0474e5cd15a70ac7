"""A batch input's run is never made twice at the vendor (contracts.md §9): a create that may
have reached the vendor (a timeout, a 5xx) is not sent again but becomes a FAILED run saying
so; one that surely never reached it (no connection, a 429) is retried; and a graceful stop
lets creates already sent be answered and recorded instead of handing their inputs back."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.config import BatchConfig, Settings
from tests.batch_retab import FakeRetab
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    batch_runs,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import MakeGateway, mocked, mocked_vendors_settings, running, wait_until


class CountingRetab(FakeRetab):
    """FakeRetab that counts the creates each input's document reached it with, and answers
    each input's first create with `first` (an exception raised, or a response) if given."""

    def __init__(
        self,
        first: type[httpx.TransportError] | httpx.Response | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        super().__init__(delay=delay)
        self.received: Counter[str] = Counter()
        self._first = first

    async def _create(self, request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["document"]["filename"]
        self.received[name] += 1
        if self._first is not None and self.received[name] == 1:
            if isinstance(self._first, httpx.Response):
                return self._first
            raise self._first("the vendor's failure", request=request)
        return await super()._create(request)


def _settings(tmp_path: Path, concurrency: int = 2) -> Settings:
    settings = mocked_vendors_settings(
        tmp_path, ["retab"], default="retab", api_keys=(KEY,), classifiers=saved_classifiers()
    )
    retab = msgspec.structs.replace(settings.backends["retab"], refresh_interval=0.1)
    batch = BatchConfig(concurrency=concurrency)
    return msgspec.structs.replace(settings, backends={"retab": retab}, batch=batch)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ReadTimeout, id="timeout"),
        pytest.param(httpx.RemoteProtocolError, id="dropped"),
        pytest.param(httpx.Response(503, json={"detail": "busy"}), id="5xx"),
    ],
)
def test_a_create_the_vendor_may_have_received_is_failed_not_sent_again(
    make_gateway: MakeGateway, tmp_path: Path, failure: type[httpx.TransportError] | httpx.Response
) -> None:
    """Each input's create fails after it was sent: each reached the vendor once, and each
    is a FAILED run whose failureMessage says the vendor may have made it."""
    retab = CountingRetab(failure)
    http = make_gateway(_settings(tmp_path), mocked({"retab": retab.router})).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(3), headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "FAILED"
    runs = batch_runs(http, batch_id)
    assert sorted(retab.received.values()) == [1, 1, 1]
    assert [r["failureReason"] for r in runs] == ["INTERNAL_ERROR"] * 3
    assert all("may or may not have made a run" in r["failureMessage"] for r in runs)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ConnectError, id="refused"),
        pytest.param(httpx.ConnectTimeout, id="connect-timeout"),
        pytest.param(httpx.Response(429, json={"detail": "slow down"}), id="429"),
    ],
)
def test_a_create_that_never_reached_the_vendor_is_retried(
    make_gateway: MakeGateway, tmp_path: Path, failure: type[httpx.TransportError] | httpx.Response
) -> None:
    """No connection made, or a 429 (which makes nothing): each input is sent again, and
    the vendor makes exactly one run of each."""
    retab = CountingRetab(failure)
    http = make_gateway(_settings(tmp_path), mocked({"retab": retab.router})).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "PROCESSED"
    assert sorted(retab.received.values()) == [2, 2]
    assert retab.answered == 2
    assert [r["status"] for r in batch_runs(http, batch_id)] == ["PROCESSED"] * 2


def test_a_graceful_stop_lets_creates_already_sent_finish(tmp_path: Path) -> None:
    """Stopped while four creates are at the vendor (which makes a run as it receives a
    create, and answers a moment later): those four are answered and recorded within the
    grace period, not handed back, so after a restart the vendor made each input's run once."""
    retab = CountingRetab(delay=0.5)
    with running(_settings(tmp_path, concurrency=4), mocked({"retab": retab.router})) as client:
        created = client.post("/classify_runs/batch", json=batch_body(8), headers=HEADERS)
        batch_id = created.json()["id"]
        wait_until(lambda: retab.received.total() >= 4)
    in_flight = retab.received.total()

    with running(_settings(tmp_path, concurrency=4), mocked({"retab": retab.router})) as client:
        assert statuses_until_settled(client, batch_id)[-1] == "PROCESSED"
        runs = batch_runs(client, batch_id)
    assert in_flight >= 4
    assert sorted(retab.received.values()) == [1] * 8
    assert retab.answered == 8
    assert len(runs) == 8
