"""Upstream calls where a retry, a vendor's broken answer or its request id could mislead the
client: a delete whose answer was lost is not sent again (its second try would say 404), a
retry is only made with time left to connect, a retry cut short by the call's deadline does
not count against the circuit, an undecodable answer is a 502 (not a 500) that does, and a
relayed answer keeps crosswalk's own request id.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.backends.retries import idempotent, retried, retried_failure, wait_before
from gateway.backends.upstream import Upstream, open_client
from gateway.config import RetabBackendConfig, Secret
from gateway.errors import UpstreamTimeout, UpstreamUnreachable, UpstreamUnsent
from gateway.surfaces.render import UPSTREAM_REQUEST_ID_HEADER
from mappings import retab
from mappings.dialects import Dialect
from tests.test_faults import LEGS, Fault, check_answer
from tests.test_retries import run_route
from tests.upstream_answers_app import RUNS, SAME, answer, gateway, headers

NOT_FOUND = {
    "retab": {"detail": "Not found"},
    "extend": {"code": "NOT_FOUND", "message": "not found", "retryable": False},
}


@pytest.mark.parametrize(("vendor", "surface", "routes"), LEGS)
def test_a_delete_whose_answer_was_lost_is_not_sent_again(
    tmp_path: Path, vendor: Dialect, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    """The vendor may have deleted the run before the connection dropped: a second delete
    would get its 404 and tell the client the run never was."""
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface, "DELETE")
        route.side_effect = [httpx.ReadError("reset"), httpx.Response(404, json=NOT_FOUND[vendor])]
        response = gw.delete(surface, public_id)
        assert route.call_count == 1
        assert response.status_code == 502, response.text


@pytest.mark.parametrize(("vendor", "surface", "routes"), LEGS)
def test_a_delete_that_surely_was_not_done_is_retried(
    tmp_path: Path, vendor: Dialect, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface, "DELETE")
        done = (
            httpx.Response(200, json={"id": "x", "deleted": True}) if vendor == "extend" else None
        )
        route.side_effect = [
            httpx.ConnectError("refused"),  # nothing sent
            httpx.Response(503, text="Service Unavailable"),  # refused before doing it
            done or httpx.Response(204),
        ]
        response = gw.delete(surface, public_id)
        assert route.call_count == 3
        assert response.is_success, response.text


def test_which_calls_are_sent_again_and_after_what() -> None:
    assert idempotent("GET", "/classify_runs/clr_1", "extend")
    assert idempotent("POST", "/v1/classifications/cls_1/cancel", "retab")
    assert not idempotent("DELETE", "/v1/classifications/cls_1", "retab")
    assert retried("DELETE", "/v1/classifications/cls_1", "retab")
    assert not retried("POST", "/v1/classifications", "retab")
    assert retried_failure(UpstreamUnsent("refused"), idempotent=False)
    assert not retried_failure(UpstreamUnreachable("reset"), idempotent=False)
    assert not retried_failure(UpstreamTimeout("slow"), idempotent=False)
    assert retried_failure(UpstreamUnreachable("reset"))


def test_a_retry_needs_a_floor_of_time_left() -> None:
    rng = random.Random(7)
    assert wait_before(0, 2.0, 3.5, rng, floor=1.0) == 2.0
    assert wait_before(0, 2.5, 3.0, rng, floor=1.0) is None  # 0.5 s left to connect and answer
    assert wait_before(0, 0.1, 1.05, rng, floor=1.0) is None


def test_a_hinted_wait_that_leaves_too_little_time_is_the_clients(tmp_path: Path) -> None:
    options = {"call_timeout": 3.0, "connect_timeout": 0.5}
    with gateway(tmp_path, SAME, options) as gw:
        route, public_id = run_route(gw, "retab")
        route.mock(
            return_value=httpx.Response(429, text="slow", headers={"retry-after-ms": "2500"})
        )
        started = time.monotonic()
        response = gw.get("retab", public_id)
        assert route.call_count == 1
        assert response.status_code == 429
        assert response.headers["retry-after-ms"] == "2500"  # relayed as it came
        assert time.monotonic() - started < 2.0  # answered now, not after the wait


def _upstream(handler: httpx.AsyncBaseTransport, **options: float | int) -> Upstream:
    config = RetabBackendConfig(base_url="https://api.retab.test", **options)  # type: ignore[arg-type]
    return Upstream(
        "retab",
        dialect="retab",
        client=open_client(config, handler),
        config=config,
        key=Secret("sk-test"),
        read_problem=retab.error_to_canonical,
    )


def test_a_retry_cut_short_by_the_calls_deadline_is_no_circuit_failure() -> None:
    async def scenario() -> None:
        never = asyncio.Event()
        calls = 0

        async def vendor(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                return httpx.Response(429, headers={"retry-after-ms": "50"})
            await never.wait()  # the retry outlives what is left of the deadline
            raise AssertionError("unreachable")

        upstream = _upstream(
            httpx.MockTransport(vendor),
            call_timeout=1.2,
            connect_timeout=0.1,
            circuit_failures=1,
        )
        with pytest.raises(UpstreamTimeout):
            await upstream.send_raw(httpx.Request("GET", "https://api.retab.test/v1/x"))
        assert calls == 2
        assert upstream.circuit_state() == "closed"

    asyncio.run(scenario())


class _NotGzip(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"not gzip at all"


def _corrupt(request: httpx.Request) -> httpx.Response:
    media = {"content-encoding": "gzip", "content-type": "application/json"}
    return httpx.Response(200, headers=media, stream=_NotGzip())


@pytest.mark.parametrize(("vendor", "surface", "routes"), LEGS)
def test_an_answer_that_cannot_be_decoded_is_a_502_and_a_circuit_failure(
    tmp_path: Path, vendor: Dialect, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes, {"circuit_failures": 1}) as gw:
        route, public_id = run_route(gw, surface)
        route.side_effect = _corrupt
        response = gw.get(surface, public_id)
        check_answer(surface, routes is SAME, Fault(lambda v, k: _corrupt, 502, False), response)
        assert route.call_count == 1  # it answered: another try would read the same
        again = gw.get(surface, public_id)
        assert again.status_code == 503, again.text  # the circuit is open
        assert route.call_count == 1


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_relayed_answer_keeps_crosswalks_request_id(tmp_path: Path, surface: Dialect) -> None:
    """The client's id (or crosswalk's new one) is the one in crosswalk's logs; the vendor's
    is passed on under its own name."""
    with gateway(tmp_path, SAME) as gw:
        vendor = gw.routes[surface]
        ids = {"x-request-id": "vendor-rid"}
        route, public_id = run_route(gw, surface)
        route.respond(200, json=answer(vendor, "get"), headers=ids)
        mine = headers(surface) | {"x-request-id": "client-rid"}
        given = gw.client.get(f"{RUNS[surface]}/{public_id}", headers=mine)
        assert given.status_code == 200, given.text
        assert given.headers.get_list("x-request-id") == ["client-rid"]
        assert given.headers[UPSTREAM_REQUEST_ID_HEADER] == "vendor-rid"
        ours = gw.get(surface, public_id)
        assert ours.headers.get_list("x-request-id")[0].startswith("req_")
        assert ours.headers[UPSTREAM_REQUEST_ID_HEADER] == "vendor-rid"
