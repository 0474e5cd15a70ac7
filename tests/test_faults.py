"""Fault injection: every way a vendor can fail, against each vendor backend, on both surfaces.

For each fault (respx side effects) and each leg (a client of the other vendor, translated,
and the vendor's own clients, relayed), a create and a read of a run get the right status in
the caller's own error envelope: never a 500, a stack trace or Litestar's default body. The
ledger stays consistent (a create that failed records no run; one accepted is recorded once)
and reads are retried exactly when the fault may pass (tests/test_retries.py for the policy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest

from mappings.dialects import Dialect
from tests.harness import extend_error, retab_error, wire
from tests.test_retries import retries_of, run_route
from tests.upstream_answers_app import (
    CREATED_STATUS,
    OTHER,
    RUNS,
    SAME,
    answer,
    gateway,
)

Effect = Callable[[httpx.Request], httpx.Response]
HTML = b"<html><h1>502 Bad Gateway</h1><pre>Traceback (most recent call last)</pre></html>"


class _ResetMidBody(httpx.AsyncByteStream):
    """An answer whose connection drops after its first bytes."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"id": "cls_'
        raise httpx.ReadError("connection reset by peer")


def _status(status: int, content: bytes = b"", media: str = "text/plain", **headers: str) -> Effect:
    def answer_with(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": media, **headers})

    return answer_with


def _raise(exc: type[httpx.TransportError]) -> Effect:
    def raising(request: httpx.Request) -> httpx.Response:
        raise exc("injected", request=request)

    return raising


def _reset(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=_ResetMidBody(), headers={"content-type": "application/json"})


def _wrong_type(vendor: Dialect, kind: str) -> Effect:
    """The run the vendor means, labelled as HTML: crosswalk reads JSON by what it is."""
    body = msgspec.json.encode(answer(vendor, kind))
    return _status(CREATED_STATUS[vendor] if kind == "create" else 200, body, "text/html")


@dataclass(frozen=True)
class Fault:
    effect: Callable[[Dialect, str], Effect]  # (vendor, "create" or "get") -> side effect
    status: int  # what the client gets: 0 for the vendor's own success
    retried: bool  # whether a read meeting it is tried again (three calls in all)
    retry_after: str | None = None


FAULTS = {
    "500": Fault(lambda v, k: _status(500, b"Internal Server Error"), 502, False),
    "502": Fault(lambda v, k: _status(502, b"Bad Gateway"), 502, True),
    "503": Fault(lambda v, k: _status(503, b"Service Unavailable"), 502, True),
    "429-retry-after": Fault(
        lambda v, k: _status(
            429,
            wire("extend_error_429_rate_limited.json") if v == "extend" else b"Rate limit",
            "application/json" if v == "extend" else "text/plain",
            **{"retry-after": "45"},  # past what crosswalk waits for: the client's to honour
        ),
        429,
        False,
        "45",
    ),
    "read-timeout": Fault(lambda v, k: _raise(httpx.ReadTimeout), 504, True),
    "connect-error": Fault(lambda v, k: _raise(httpx.ConnectError), 502, True),
    "reset-mid-body": Fault(lambda v, k: _reset, 502, True),
    "truncated-json": Fault(
        lambda v, k: _status(200, msgspec.json.encode(answer(v, k))[:40], "application/json"),
        502,
        False,
    ),
    "html-200": Fault(lambda v, k: _status(200, HTML, "text/html"), 502, False),
    "html-502": Fault(lambda v, k: _status(502, HTML, "text/html"), 502, True),
    "wrong-content-type": Fault(_wrong_type, 0, False),
    "empty-body": Fault(lambda v, k: _status(200, b"", "application/json"), 502, False),
    "10mb-garbage": Fault(
        lambda v, k: _status(200, b"\xff\x00garbage" * (10 * 1024 * 1024 // 9), "application/json"),
        502,
        False,
    ),
}
# (the vendor behind the backend, the surface its client speaks, the routes serving it)
LEGS = [
    pytest.param("retab", "extend", OTHER, id="retab-backend-translated"),
    pytest.param("retab", "retab", SAME, id="retab-backend-relayed"),
    pytest.param("extend", "retab", OTHER, id="extend-backend-translated"),
    pytest.param("extend", "extend", SAME, id="extend-backend-relayed"),
]


def check_answer(surface: Dialect, relayed: bool, fault: Fault, response: httpx.Response) -> None:
    """The client's answer: the fault's status in the caller's own envelope."""
    assert response.status_code != 500, response.text
    assert "Traceback" not in response.text
    if fault.status == 0:
        assert response.is_success, response.text
        assert response.json()["id"]
        return
    assert response.status_code == fault.status, response.text
    if fault.retry_after is not None:
        assert response.headers["retry-after"] == fault.retry_after
    if relayed and fault.status < 500:
        return  # the vendor's own 4xx, relayed to its own SDK as it came
    if surface == "retab":
        retab_error(response, fault.status)
    else:
        extend_error(response, fault.status)


@pytest.mark.parametrize("name", FAULTS)
@pytest.mark.parametrize(("vendor", "surface", "routes"), LEGS)
def test_a_create_meeting_a_fault(
    tmp_path: Path, vendor: Dialect, surface: Dialect, routes: dict[Dialect, Dialect], name: str
) -> None:
    fault = FAULTS[name]
    with gateway(tmp_path, routes) as gw:
        assert gw.routes[surface] == vendor
        route = gw.vendor_of(surface).post(RUNS[vendor])
        route.side_effect = fault.effect(vendor, "create")
        response = gw.create(surface)
        check_answer(surface, routes is SAME, fault, response)
        assert route.call_count == 1  # a create is never retried
        assert len(gw.records()) == (1 if fault.status == 0 else 0)


@pytest.mark.parametrize("name", FAULTS)
@pytest.mark.parametrize(("vendor", "surface", "routes"), LEGS)
def test_a_read_meeting_a_fault(
    tmp_path: Path, vendor: Dialect, surface: Dialect, routes: dict[Dialect, Dialect], name: str
) -> None:
    fault = FAULTS[name]
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface)
        before, recorded = retries_of(vendor), gw.records()
        route.side_effect = fault.effect(vendor, "get")
        response = gw.get(surface, public_id)
        check_answer(surface, routes is SAME, fault, response)
        assert route.call_count == (3 if fault.retried else 1)
        assert retries_of(vendor) == before + (2 if fault.retried else 0)
        after = gw.records()
        assert [r.upstream_id for r in after] == [r.upstream_id for r in recorded]
        if fault.status != 0:  # a failed read changes nothing
            assert after == recorded
