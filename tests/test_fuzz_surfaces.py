"""Bad input, generated: thousands of hostile requests to each surface, never a 5xx.

Every error is in the caller's dialect's envelope with an `x-request-id`, never Litestar's
default body nor a traceback (tests/fuzz_requests.py says what is generated). Once on the local
backend, once with a vendor mocked by respx behind the gateway. Bodies only ever carry data or
loopback URLs; the guard below also refuses any lookup of another host, so a URL nobody
expected cannot leave the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import respx
from hypothesis import HealthCheck, given, settings

from gateway.config import LocalBackendConfig, Settings
from tests.fuzz_requests import KEY, FuzzRequest, Surface, problem, requests
from tests.harness import (
    URLS,
    InProcessGateway,
    Transports,
    local_settings,
    mocked,
    mocked_vendors_settings,
    wire,
)

# per surface: 1,500 on the local backend and 500 more through a mocked vendor, ~45 s in all
# on 2 busy cores; bench/fuzz.py runs 50,000
LOCAL_EXAMPLES = 1500
VENDOR_EXAMPLES = 500
SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name lookups of anything but loopback fail, as on a host with no network."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        answers = real(host, *args, **kwargs) if host in ("localhost", None) else None
        if answers is not None:
            return answers
        try:
            loopback = ipaddress.ip_address(str(host).strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz: no lookups of {host!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


def _vendor() -> respx.MockRouter:
    """Retab, answering every call with one of its real answers (or 404)."""
    router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    router.post("/v1/classifications").respond(201, content=wire("retab_create_response_201.json"))
    router.get("/v1/classifications").respond(200, content=wire("retab_list_response.json"))
    one = r"/v1/classifications/[^/]+"
    router.get(path__regex=one + "$").respond(200, content=wire("retab_get_seed.json"))
    router.delete(path__regex=one + "$").respond(200, json={"success": True})
    router.post(path__regex=one + "/cancel$").respond(
        200, content=wire("retab_cancel_response.json")
    )
    router.route().respond(404, json={"detail": "Not Found"})
    return router


def _fuzz(
    settings_: Settings, transports: Transports | None, surface: Surface, examples: int
) -> None:
    with InProcessGateway(settings_, transports) as gateway:
        client = gateway.http(None)  # each request brings its own headers
        statuses: Counter[int] = Counter()

        @settings(max_examples=examples, deadline=None, suppress_health_check=SLOW_IS_FINE)
        @given(request=requests(surface))
        def check(request: FuzzRequest) -> None:
            response = request.send(client)
            statuses[response.status_code] += 1
            wrong = problem(request, response)
            assert wrong is None, f"{wrong}: {request!r} -> {response.text[:500]!r}"

        check()
    # the generator is worth something only if requests get past auth and validation too
    accepted = sum(n for status, n in statuses.items() if status < 300)
    assert accepted >= examples // 50, statuses


@pytest.mark.timeout(300)
@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_local_backend_survives_fuzzing(tmp_path: Path, surface: Surface) -> None:
    local = LocalBackendConfig(concurrency=1, extract_workers=1)
    _fuzz(local_settings(tmp_path, local, api_keys=(KEY,)), None, surface, LOCAL_EXAMPLES)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_vendor_backend_survives_fuzzing(tmp_path: Path, surface: Surface) -> None:
    routers = {"retab": _vendor()}
    built = mocked_vendors_settings(tmp_path, routers, default="retab", api_keys=(KEY,))
    _fuzz(built, mocked(routers), surface, VENDOR_EXAMPLES)
