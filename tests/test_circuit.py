"""A backend that keeps failing is ejected for a cool-down: calls fail fast with a 503 and
`Retry-After` in the caller's dialect, a create falls back when a fallback is configured, and
after the cool-down one probe decides. 4xx answers are the request's fault, not the backend's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from prometheus_client import REGISTRY

from gateway.backends.circuit import Circuit
from gateway.config import LocalBackendConfig
from gateway.errors import CircuitOpen
from mappings.dialects import Dialect
from tests.harness import (
    MakeGateway,
    extend_error,
    mocked,
    mocked_vendors_settings,
    retab_error,
    vendor_backend,
)
from tests.test_retries import LEGS, run_route, unavailable
from tests.upstream_answers_app import CREATE_BODY, RUNS, answer, gateway, headers

EJECT_AFTER_TWO: dict[str, Any] = {"retries": 0, "circuit_failures": 2, "circuit_cooldown": 30.0}


def gauge(backend: str) -> float | None:
    return REGISTRY.get_sample_value("crosswalk_circuit_state", {"backend": backend})


def refused_in_dialect(surface: Dialect, response: httpx.Response) -> None:
    """A 503 with `Retry-After`, in the caller's own error envelope."""
    if surface == "retab":
        retab_error(response, 503)
    else:
        assert extend_error(response, 503)["retryable"] is True
    assert 1 <= int(response.headers["retry-after"]) <= 30


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_consecutive_failures_open_the_circuit_and_calls_fail_fast_in_the_callers_dialect(
    tmp_path: Path,
    surface: Dialect,
    routes: dict[Dialect, Dialect],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with gateway(tmp_path, routes, EJECT_AFTER_TWO) as gw:
        route, public_id = run_route(gw, surface)
        vendor = gw.routes[surface]
        route.mock(return_value=unavailable())
        for _ in range(2):
            assert gw.get(surface, public_id).status_code in (502, 503)
        assert gauge(vendor) == 2
        route.mock(return_value=httpx.Response(200, json=answer(vendor, "get")))
        capsys.readouterr()
        refused_in_dialect(surface, gw.get(surface, public_id))
        assert route.call_count == 2  # nothing sent while open
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        (summary,) = [e for e in lines if e["event"] == "request.completed"]
        assert (summary["status"], summary["upstream_status"]) == (503, "open")


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_rejections_never_open_the_circuit(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes, EJECT_AFTER_TWO) as gw:
        route, public_id = run_route(gw, surface)
        route.mock(return_value=httpx.Response(404, json={"detail": "Not found"}))
        for _ in range(4):
            assert gw.get(surface, public_id).status_code == 404
        assert route.call_count == 4


def test_a_create_meeting_an_open_circuit_falls_back(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """The primary is out of service: the create is served by the fallback at once, and
    `crosswalk-attempts` says why."""
    router = respx.MockRouter(base_url="https://api.extend.test", assert_all_called=False)
    settings = mocked_vendors_settings(tmp_path, ["extend"], default="extend", fallback=("local",))
    primary = vendor_backend("extend", api_key_env="EXTEND_API_KEY", **EJECT_AFTER_TWO)
    backends = {"extend": primary, "local": LocalBackendConfig()}
    settings = msgspec.structs.replace(settings, backends=backends)
    route = router.post(RUNS["extend"]).mock(side_effect=httpx.ConnectError("refused"))
    client = make_gateway.client(settings, mocked({"extend": router}))
    body, sent = CREATE_BODY["extend"], headers("extend")
    for _ in range(2):
        assert client.post("/classify_runs", json=body, headers=sent).status_code == 200
    response = client.post("/classify_runs", json=body, headers=sent)
    assert response.status_code == 200, response.text
    assert response.headers["crosswalk-attempts"] == "extend:open, local:ok"
    assert response.headers["crosswalk-backend"] == "local"
    assert route.call_count == 2


def test_after_the_cool_down_one_probe_decides() -> None:
    now = [0.0]
    circuit = Circuit("probe-test", failures=3, cooldown=10.0, clock=lambda: now[0])
    for _ in range(2):
        assert circuit.enter() is False
        circuit.record(failed=True, probe=False)
    circuit.record(failed=False, probe=False)  # a success starts the count again
    for _ in range(3):
        circuit.enter()
        circuit.record(failed=True, probe=False)
    assert circuit.state() == "open"
    assert gauge("probe-test") == 2
    with pytest.raises(CircuitOpen) as refused:
        circuit.enter()
    assert refused.value.status == 503
    assert refused.value.headers == {"retry-after": "10"}
    now[0] = 10.0
    assert circuit.state() == "half_open"
    assert circuit.enter() is True  # the probe
    assert gauge("probe-test") == 1
    with pytest.raises(CircuitOpen):
        circuit.enter()  # others wait for the probe's answer
    circuit.record(failed=True, probe=True)
    assert circuit.state() == "open"
    now[0] = 20.0
    probe = circuit.enter()
    circuit.release(probe=probe)  # cancelled: decides nothing, the next call probes
    assert circuit.enter() is True
    circuit.record(failed=False, probe=True)
    assert circuit.state() == "closed"
    assert gauge("probe-test") == 0
