"""Idempotent upstream calls (reads, Retab's cancel; a delete surely not done) are retried on
failures that may pass, within the call's deadline and the backend's retry budget; creates and
Extend's cancel never are. Translated (a client of the other vendor) and relayed (the vendor's
own clients).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from gateway.backends.hints import hinted_wait
from gateway.backends.retries import RetryBudget, idempotent, wait_before
from mappings.dialects import Dialect
from tests.harness import wire
from tests.upstream_answers_app import (
    CREATED_STATUS,
    OTHER,
    RUNS,
    SAME,
    Gateway,
    answer,
    gateway,
    native_id,
)

# (the surface a client speaks, the vendor behind it)
LEGS = [
    pytest.param("extend", OTHER, id="extend-client-retab-backend"),
    pytest.param("retab", OTHER, id="retab-client-extend-backend"),
    pytest.param("retab", SAME, id="retab-relayed"),
    pytest.param("extend", SAME, id="extend-relayed"),
]


def retries_of(backend: str) -> float:
    value = REGISTRY.get_sample_value("crosswalk_upstream_retries_total", {"backend": backend})
    return value or 0.0


def unavailable(**headers: str) -> httpx.Response:
    return httpx.Response(503, text="Service Unavailable", headers=headers)


def run_route(gw: Gateway, surface: Dialect, method: str = "GET") -> tuple[respx.Route, str]:
    """The vendor route of the run a `surface` client just created, and its public id."""
    vendor, upstream = gw.routes[surface], gw.vendor_of(surface)
    upstream.post(RUNS[vendor]).respond(CREATED_STATUS[vendor], json=answer(vendor, "create"))
    created = gw.create(surface)
    assert created.is_success, created.text
    one = f"{RUNS[vendor]}/{native_id(vendor)}"
    route = upstream.route(method=method, path=one)
    return route, created.json()["id"]


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_a_read_that_meets_passing_failures_is_retried_until_it_succeeds(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface)
        vendor = gw.routes[surface]
        route.side_effect = [
            unavailable(),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=answer(vendor, "get")),
        ]
        before = retries_of(vendor)
        response = gw.get(surface, public_id)
        assert response.status_code == 200, response.text
        assert route.call_count == 3
        assert retries_of(vendor) == before + 2


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_a_read_that_keeps_failing_is_tried_three_times_and_the_hint_reaches_the_client(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface)
        route.mock(return_value=unavailable(**{"retry-after-ms": "20"}))
        response = gw.get(surface, public_id)
        assert route.call_count == 3  # the first try and two retries
        assert response.status_code in (502, 503), response.text
        assert response.headers["retry-after"] == "1"  # in whole seconds, for every SDK


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_a_create_is_never_retried(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes) as gw:
        vendor = gw.routes[surface]
        route = gw.vendor_of(surface).post(RUNS[vendor]).mock(return_value=unavailable())
        response = gw.create(surface)
        assert route.call_count == 1
        assert response.status_code >= 500
        assert gw.records() == []


@pytest.mark.parametrize(("surface", "routes"), LEGS)
def test_a_cancel_is_retried_only_at_retab_where_it_is_idempotent(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    with gateway(tmp_path, routes) as gw:
        route, public_id = run_route(gw, surface)
        vendor = gw.routes[surface]
        cancel = gw.vendor_of(surface).route(
            method="POST", path=f"{RUNS[vendor]}/{native_id(vendor)}/cancel"
        )
        cancel.side_effect = [unavailable(), httpx.Response(200, json=answer(vendor, "cancel"))]
        route.respond(200, json=answer(vendor, "get"))
        response = gw.cancel(surface, public_id)
        if vendor == "retab":
            assert cancel.call_count == 2
            assert response.status_code == 200, response.text
        else:  # a second cancel of a run the first one stopped would be refused
            assert cancel.call_count == 1
            assert response.status_code >= 500


@pytest.mark.parametrize(("surface", "routes"), LEGS[:2])
def test_a_wait_longer_than_the_cap_or_the_deadline_is_the_clients(
    tmp_path: Path, surface: Dialect, routes: dict[Dialect, Dialect]
) -> None:
    """A vendor asking for two minutes is not held for: its 429 and hint reach the client at
    once; nor is a wait that would end past the call's deadline."""
    with gateway(tmp_path, routes, {"call_timeout": 5.0}) as gw:
        route, public_id = run_route(gw, surface)
        vendor = gw.routes[surface]
        limited = wire("extend_error_429_rate_limited.json") if vendor == "extend" else b"slow"
        for hint in ("120", "10"):
            route.reset()
            route.mock(
                return_value=httpx.Response(429, content=limited, headers={"retry-after": hint})
            )
            response = gw.get(surface, public_id)
            assert route.call_count == 1, hint
            assert response.status_code == 429
            assert response.headers["retry-after"] == hint


def test_the_budget_allows_a_fifth_of_the_calls_of_its_window_and_a_floor() -> None:
    now = [0.0]
    budget = RetryBudget(ratio=0.2, minimum=3, window=10.0, clock=lambda: now[0])
    budget.called()
    assert [budget.spend() for _ in range(4)] == [True, True, True, False]
    for _ in range(25):
        budget.called()
    assert [budget.spend() for _ in range(3)] == [True, True, False]  # 5 of 26 calls
    now[0] = 10.5  # the window has moved past every call and retry
    budget.called()
    assert budget.spend()


def test_only_reads_and_retabs_cancel_are_idempotent() -> None:
    assert idempotent("GET", "/classify_runs/clr_1", "extend")
    assert not idempotent("DELETE", "/v1/classifications/cls_1", "retab")  # see retried()
    assert idempotent("POST", "/v1/classifications/cls_1/cancel", "retab")
    assert not idempotent("POST", "/classify_runs/clr_1/cancel", "extend")
    assert not idempotent("POST", "/v1/classifications", "retab")
    assert not idempotent("POST", "/files/upload", "extend")


def test_the_vendors_hint_is_read_in_each_form() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=12), usegmt=True)

    def read(**given: str) -> float | None:
        raw = [(name.encode(), value.encode()) for name, value in given.items()]
        return hinted_wait(httpx.Headers(raw), now=now.timestamp)

    assert read(**{"retry-after-ms": "250"}) == 0.25
    assert read(**{"retry-after": "3"}) == 3.0
    assert read(**{"retry-after": later}) == pytest.approx(12.0)
    assert read(**{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past: now
    for garbage in ("soon", "-1", "1e3", "²", ""):
        assert read(**{"retry-after": garbage}) is None


def test_a_wait_is_jittered_under_a_growing_cap_and_never_past_the_deadline() -> None:
    rng = random.Random(7)
    waits = [wait_before(n, None, 60.0, rng) for n in range(6) for _ in range(50)]
    assert all(w is not None and 0 <= w <= 2.0 for w in waits)
    assert max(w for w in waits[:50] if w is not None) <= 0.1
    assert wait_before(0, 4.0, 60.0, rng) == 4.0
    assert wait_before(0, 4.0, 3.0, rng) is None  # past the deadline
    assert wait_before(0, 31.0, 600.0, rng) is None  # past the cap


def test_the_request_log_line_counts_the_tries_of_its_upstream_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with gateway(tmp_path, OTHER) as gw:
        route, public_id = run_route(gw, "retab")
        route.side_effect = [unavailable(), httpx.Response(200, json=answer("extend", "get"))]
        capsys.readouterr()
        assert gw.get("retab", public_id).status_code == 200
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    (summary,) = [e for e in lines if e["event"] == "request.completed"]
    assert summary["upstream_attempts"] == 2
    assert summary["upstream_status"] == 200
    # each try's own line is at DEBUG since issue 14: the summary above counts them
    assert [e for e in lines if e["event"] == "upstream.call"] == []
