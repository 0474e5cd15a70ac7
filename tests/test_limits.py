"""Per-key limits (`[limits]`): concurrency and rate per client key, answered with a 429 and
`Retry-After` in the caller's dialect; off by default."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from gateway.config import ConfigError, LimitsConfig, resolve
from tests.harness import (
    GATEWAY_KEY,
    MakeGateway,
    extend_error,
    local_settings,
    mocked_vendors_settings,
    retab_error,
    running,
)
from tests.held_vendor import Clockwork, Gate, held

VERSION = {"x-extend-api-version": "2026-02-09"}
EXTEND = {"authorization": f"Bearer {GATEWAY_KEY}", **VERSION}
EXTEND_BODY = {
    "file": {"text": "Invoice 42: total due", "name": "a.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "x"}]},
}


def _refusals(surface: str, limit: str) -> float:
    labels = {"surface": surface, "limit": limit}
    return REGISTRY.get_sample_value("crosswalk_rate_limited_total", labels) or 0.0


def _list(client: object, key: str) -> httpx.Response:
    response: httpx.Response = client.get(  # type: ignore[attr-defined]
        "/v1/classifications", headers={"authorization": f"Bearer {key}"}
    )
    return response


def test_a_key_over_its_rate_gets_a_429_with_retry_after(tmp_path: Path) -> None:
    """With 1 request a second and a burst of 2, a key's third request at once is refused
    in Retab's shape with `Retry-After: 1`; another key is unaffected, and a second later
    the first key may send again."""
    clock = Clockwork()
    limits = LimitsConfig(rate_per_key=1, burst=2)
    before = _refusals("retab", "rate")
    with running(local_settings(tmp_path, limits=limits), clock=clock) as client:
        assert [_list(client, "key-a").status_code for _ in range(2)] == [200, 200]
        with capture_logs() as logs:
            refused = _list(client, "key-a")
        other = _list(client, "key-b")
        clock.now += timedelta(seconds=1)
        later = _list(client, "key-a")
    detail = retab_error(refused, 429)
    assert detail["code"] == "RATE_LIMIT_EXCEEDED"
    assert "rate limit" in detail["message"]
    assert refused.headers["retry-after"] == "1"
    assert other.status_code == 200
    assert later.status_code == 200
    assert _refusals("retab", "rate") == before + 1
    assert [e["status"] for e in logs if e["event"] == "request.completed"] == [429]


def test_retry_after_is_how_long_a_token_takes(tmp_path: Path) -> None:
    """At one request every 4 seconds, the refused client is told to wait 4 seconds."""
    limits = LimitsConfig(rate_per_key=0.25)
    with running(local_settings(tmp_path, limits=limits), clock=Clockwork()) as client:
        assert _list(client, "key-a").status_code == 200
        refused = _list(client, "key-a")
    retab_error(refused, 429)
    assert refused.headers["retry-after"] == "4"


def test_limits_are_off_by_default_and_spare_other_paths(tmp_path: Path) -> None:
    """Without `[limits]` nothing is refused; with them, paths outside both surfaces (the
    schema) are never limited."""
    with running(local_settings(tmp_path), clock=Clockwork()) as client:
        assert {_list(client, "key-a").status_code for _ in range(20)} == {200}
    limits = LimitsConfig(rate_per_key=0.001)
    with running(local_settings(tmp_path, limits=limits), clock=Clockwork()) as client:
        assert _list(client, "key-a").status_code == 200
        assert _list(client, "key-a").status_code == 429
        assert {client.get("/schema").status_code for _ in range(5)} == {200}


def test_a_refused_key_is_answered_401_not_limited(tmp_path: Path) -> None:
    """An unknown key is not counted: it gets the surface's 401 however often it comes."""
    limits = LimitsConfig(rate_per_key=0.001)
    settings = local_settings(tmp_path, api_keys=("key-a",), limits=limits)
    with running(settings, clock=Clockwork()) as client:
        statuses = [_list(client, "stranger").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]


def test_a_key_over_its_concurrency_gets_a_429_in_extends_envelope(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """With one request per key at once, a key's second request while its first is held at
    the vendor is refused (`Retry-After: 1`); another key is served meanwhile, and the first
    key again once its request is answered."""
    gate = Gate()
    settings = mocked_vendors_settings(
        tmp_path, ["extend"], default="extend", api_keys=(GATEWAY_KEY, "gw-other"),
        limits=LimitsConfig(concurrency_per_key=1),
    )  # fmt: skip
    gateway = make_gateway(settings, {"extend": gate}, served=True)
    client = gateway.http(GATEWAY_KEY)
    with held(
        gate, lambda: client.post("/classify_runs", json=EXTEND_BODY, headers=EXTEND)
    ) as first:
        refused = gateway.http(GATEWAY_KEY).get("/classify_runs", headers=EXTEND)
        other = gateway.http("gw-other").get("/classify_runs", headers=VERSION)
    body = extend_error(refused, 429)
    assert body["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["retryable"] is True
    assert refused.headers["retry-after"] == "1"
    assert other.status_code == 200
    assert first[0].status_code == 200
    assert gateway.http(GATEWAY_KEY).get("/classify_runs", headers=EXTEND).status_code == 200


def test_limits_are_read_from_config() -> None:
    """`[limits]` is a checked table: its keys typed, a typo named."""
    settings = resolve({"limits": {"concurrency_per_key": 4, "rate_per_key": 2.5}}, {})
    assert settings.limits == LimitsConfig(concurrency_per_key=4, rate_per_key=2.5)
    with pytest.raises(ConfigError, match="limits"):
        resolve({"limits": {"rate": 1}}, {})
    with pytest.raises(ConfigError, match=r"limits\.burst"):
        resolve({"limits": {"burst": -1}}, {})
