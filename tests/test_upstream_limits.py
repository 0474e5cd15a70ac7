"""Every upstream call is bounded: one deadline for the whole exchange, a size for the answer,
no redirects; and the ledger keeps no run larger than its bound.

Each limit is checked on a translated call in both directions and on same-vendor
pass-through, whose answers otherwise reach the client byte for byte.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.config import ExtendBackendConfig
from gateway.store.records import MAX_RUN_BYTES
from gateway.supervisor import Supervisor
from mappings import extend
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    extend_error,
    mocked,
    retab_error,
    vendor_backend,
    vendor_settings,
    wire_json,
)
from tests.loopback import DripServer

JSON = "application/json"
CHUNK = 16 * 1024
BOUND = 64 * 1024  # the tests' max_response_bytes


class Call(msgspec.Struct, frozen=True, kw_only=True):
    """A client's request to `surface`, served by a backend of `vendor`."""

    surface: str
    vendor: str
    method: str
    path: str
    upstream: str  # the vendor path it reaches first
    body: Any = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
        if self.surface == "extend":
            headers[extend.VERSION_HEADER] = extend.API_VERSION
        return headers

    def send(self, client: TestClient[Any]) -> httpx.Response:
        return client.request(self.method, self.path, json=self.body, headers=self.headers)

    def error(self, response: httpx.Response, status: int, retab_code: str) -> str:
        """The message of an error in the client's own dialect, with `retab_code` in Retab's
        words (Extend's vocabulary says INTERNAL_ERROR for any 5xx of the gateway's)."""
        if self.surface == "extend":
            body = extend_error(response, status)
            assert body["code"] == "INTERNAL_ERROR"
            message: str = body["message"]
            return message
        detail = retab_error(response, status)
        assert detail["code"] == retab_code
        message = detail["message"]
        return message


def _call(
    surface: str, vendor: str, method: str, path: str, upstream: str, body: Any = None
) -> Call:
    return Call(
        surface=surface, vendor=vendor, method=method, path=path, upstream=upstream, body=body
    )


RETAB_CREATE = wire_json("retab_create_request_background.json") | {"n_consensus": 1}
EXTEND_GET = _call("extend", "extend", "GET", "/classify_runs/clr_abc", "/classify_runs/clr_abc")
CALLS = [
    pytest.param(
        _call("retab", "extend", "POST", "/v1/classifications", "/classify",
              RETAB_CREATE | {"background": False}),
        id="retab-client-extend-backend",
    ),
    pytest.param(
        _call("extend", "retab", "POST", "/classify", "/v1/classifications",
              wire_json("extend_classify_request.json")),
        id="extend-client-retab-backend",
    ),
    pytest.param(EXTEND_GET, id="extend-pass-through"),
    pytest.param(
        _call("retab", "retab", "GET", "/v1/classifications/cls_abc",
              "/v1/classifications/cls_abc"),
        id="retab-pass-through",
    ),
]  # fmt: skip
# creates, whose answer would be recorded: translated, and relayed
TRANSLATED_CREATE = _call(
    "retab", "extend", "POST", "/v1/classifications", "/classify_runs", RETAB_CREATE
)
CREATES = [
    pytest.param(TRANSLATED_CREATE, id="translated-create"),
    pytest.param(
        _call("extend", "extend", "POST", "/classify_runs", "/classify_runs",
              wire_json("extend_classify_runs_create_request.json")),
        id="pass-through-create",
    ),
]  # fmt: skip
LISTS = {"retab": "/v1/classifications", "extend": "/classify_runs"}


def _settings(tmp_path: Path, call: Call, base_url: str | None = None, **options: Any) -> Any:
    backend = vendor_backend(call.vendor, base_url, api_key_env="VENDOR_KEY", **options)
    return vendor_settings(
        tmp_path,
        {call.vendor: backend},
        default=call.vendor,
        api_keys=(GATEWAY_KEY,),
        upstream_keys={call.vendor: "sk-vendor"},
    )


@pytest.fixture
def drip() -> Iterator[DripServer]:
    with DripServer() as server:
        yield server


@pytest.mark.parametrize("call", CALLS)
def test_a_vendor_dripping_its_answer_is_a_504_at_the_call_deadline(
    tmp_path: Path, make_gateway: MakeGateway, drip: DripServer, call: Call
) -> None:
    """A vendor that sends a byte every 50 ms never trips the 30 s read timeout; the call's
    own deadline ends it, as the usual timeout in the client's dialect."""
    settings = _settings(tmp_path, call, drip.url, call_timeout=0.5, read_timeout=30.0)
    client = make_gateway.client(settings)
    started = time.monotonic()
    response = call.send(client)
    elapsed = time.monotonic() - started
    message = call.error(response, 504, "TIMEOUT")
    assert f"(backend {call.vendor}) did not answer in time" in message
    assert drip.received == 1
    assert 0.5 <= elapsed < 10  # the deadline, not the read timeout nor the endless body


def test_a_background_re_read_of_a_dripping_vendor_ends_at_the_deadline(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """The refresher's reads are bounded too: a pass over a run the vendor drips ends with
    a logged 504 rather than hanging the backend's refresher."""
    created = msgspec.json.encode(wire_json("extend_classify_runs_create_response.json"))
    with DripServer({"/classify_runs": created}) as vendor:
        call = TRANSLATED_CREATE
        options = {"call_timeout": 0.5, "read_timeout": 30.0, "refresh_interval": 3600.0}
        client = make_gateway.client(_settings(tmp_path, call, vendor.url, **options))
        assert call.send(client).status_code == 201
        background: Supervisor = client.app.state.background
        with capture_logs() as logs:
            client.blocking_portal.call(background.steps()["refresher-extend"])
        assert vendor.received == 2
    failed = [e for e in logs if e["event"] == "refresh.failed"]
    assert [(e["error"], e["status"]) for e in failed] == [("TIMEOUT", 504)]


def test_the_default_call_deadline_outlasts_a_full_sync_classify() -> None:
    """Extend's sync /classify may take 5 minutes (hazard 30): the default deadline for a
    whole call is longer than that and than its read timeout."""
    config = ExtendBackendConfig(base_url=URLS["extend"])
    assert config.call_timeout > config.read_timeout >= 300


@pytest.mark.parametrize("call", CALLS)
def test_a_vendor_redirect_is_a_502_in_the_clients_dialect(
    make_gateway: MakeGateway, call: Call
) -> None:
    """A vendor's 3xx is neither followed nor relayed: the client gets a 502 naming the
    backend, and no Location."""
    vendor = respx.MockRouter(base_url=URLS[call.vendor], assert_all_called=False)
    elsewhere = {"location": "https://elsewhere.test/login"}
    route = vendor.route(path=call.upstream).respond(302, headers=elsewhere)
    client = make_gateway.mocked_client({call.vendor: vendor}, default=call.vendor)
    response = call.send(client)
    message = call.error(response, 502, "UPSTREAM_ERROR")
    assert f"(backend {call.vendor}) answered with a redirect (HTTP 302)" in message
    assert "location" not in response.headers
    assert "elsewhere" not in response.text
    assert route.call_count == 1


class Endless(httpx.AsyncByteStream):
    """A body that never ends; `sent` counts the bytes read from it."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += CHUNK
            yield b" " * CHUNK


def _endless_vendor(body: Endless) -> dict[str, httpx.AsyncBaseTransport]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": JSON}, stream=body)

    return {"extend": httpx.MockTransport(answer), "retab": httpx.MockTransport(answer)}


@pytest.mark.parametrize("call", CALLS + CREATES)
def test_an_answer_past_the_size_bound_is_a_502_and_is_not_read_further(
    tmp_path: Path, make_gateway: MakeGateway, call: Call
) -> None:
    """An answer larger than the backend's `max_response_bytes` is refused, naming the
    backend; reading stops at the bound, so it is never held whole, and nothing is recorded."""
    body = Endless()
    settings = _settings(tmp_path, call, max_response_bytes=BOUND)
    client = make_gateway.client(settings, _endless_vendor(body))
    response = call.send(client)
    message = call.error(response, 502, "UPSTREAM_ERROR")
    assert f"(backend {call.vendor}) sent a response larger than {BOUND} bytes" in message
    assert BOUND < body.sent <= BOUND + CHUNK
    listed = client.get(LISTS[call.surface], headers=call.headers)
    assert listed.status_code == 200
    assert listed.json()["data"] == []


def test_an_answer_at_the_size_bound_is_relayed_byte_for_byte(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """The bound is inclusive: an answer of exactly `max_response_bytes` passes unchanged."""
    call = EXTEND_GET
    exact = b'{"pad": "' + b"x" * (BOUND - 11) + b'"}'
    assert len(exact) == BOUND
    vendor = respx.MockRouter(base_url=URLS["extend"])
    vendor.get(call.upstream).respond(200, content=exact, headers={"content-type": JSON})
    settings = _settings(tmp_path, call, max_response_bytes=BOUND)
    response = call.send(make_gateway.client(settings, mocked({"extend": vendor})))
    assert response.status_code == 200
    assert response.content == exact


@pytest.mark.parametrize(("size", "status"), [(BOUND, 200), (BOUND + 1, 502)])
def test_a_compressed_answer_is_bounded_by_its_decoded_size(
    tmp_path: Path, make_gateway: MakeGateway, size: int, status: int
) -> None:
    """The bound is on what the gateway would hold, the decoded body: a small gzip that
    inflates past it is refused; one that inflates to the bound is relayed decoded."""
    body = b'{"pad": "' + b"x" * (size - 11) + b'"}'
    vendor = respx.MockRouter(base_url=URLS["extend"])
    headers = {"content-type": JSON, "content-encoding": "gzip"}
    vendor.get(EXTEND_GET.upstream).respond(200, content=gzip.compress(body), headers=headers)
    settings = _settings(tmp_path, EXTEND_GET, max_response_bytes=BOUND)
    response = EXTEND_GET.send(make_gateway.client(settings, mocked({"extend": vendor})))
    assert response.status_code == status
    if status == 200:
        assert response.content == body
        assert "content-encoding" not in response.headers


def _run_with_metadata(size: int) -> bytes:
    run = wire_json("extend_classify_runs_create_response.json")
    run["metadata"] = {"blob": "x" * size}
    return msgspec.json.encode(run)


@pytest.mark.parametrize("call", CREATES)
def test_a_run_larger_than_the_ledger_keeps_is_a_502_and_not_recorded(
    tmp_path: Path, make_gateway: MakeGateway, call: Call
) -> None:
    """An answer within the size bound whose run is past the ledger's per-run bound (its
    metadata, here) is refused, naming the backend, and the ledger stays as it was."""
    answer = _run_with_metadata(MAX_RUN_BYTES)
    vendor = respx.MockRouter(base_url=URLS["extend"])
    vendor.post(call.upstream).respond(200, content=answer, headers={"content-type": JSON})
    settings = _settings(tmp_path, call)
    client = make_gateway.client(settings, mocked({"extend": vendor}))
    response = call.send(client)
    message = call.error(response, 502, "UPSTREAM_ERROR")
    assert "Backend extend answered a run of" in message
    assert f"at most {MAX_RUN_BYTES} bytes per run" in message
    listed = client.get(LISTS[call.surface], headers=call.headers)
    assert listed.json()["data"] == []


@pytest.mark.parametrize("call", CREATES)
def test_a_run_within_the_ledger_bound_is_recorded(
    tmp_path: Path, make_gateway: MakeGateway, call: Call
) -> None:
    """The same create with modest metadata is recorded and listed as before."""
    vendor = respx.MockRouter(base_url=URLS["extend"])
    answer = _run_with_metadata(1000)
    vendor.post(call.upstream).respond(200, content=answer, headers={"content-type": JSON})
    client = make_gateway.client(_settings(tmp_path, call), mocked({"extend": vendor}))
    assert call.send(client).status_code in (200, 201)
    listed = client.get(LISTS[call.surface], headers=call.headers)
    assert len(listed.json()["data"]) == 1


def test_the_refresher_passes_over_a_run_the_ledger_refuses(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """A background re-read whose run is past the ledger's bound is logged and skipped: the
    record stays as it was, and the other runs of the pass are still brought up to date."""
    created = wire_json("extend_classify_runs_create_response.json")
    ids = ["clr_big", "clr_fine"]
    vendor = respx.MockRouter(base_url=URLS["extend"])
    vendor.post("/classify_runs").mock(
        side_effect=[httpx.Response(200, json=created | {"id": i}) for i in ids]
    )
    vendor.get("/classify_runs/clr_big").respond(200, content=_run_with_metadata(MAX_RUN_BYTES))
    finished = wire_json("extend_classify_runs_get_processed.json") | {"id": "clr_fine"}
    vendor.get("/classify_runs/clr_fine").respond(200, json=finished)
    call = TRANSLATED_CREATE
    settings = _settings(tmp_path, call, refresh_interval=3600.0)
    client = make_gateway.client(settings, mocked({"extend": vendor}))
    for _ in ids:
        assert call.send(client).status_code == 201
    background: Supervisor = client.app.state.background
    with capture_logs() as logs:
        client.blocking_portal.call(background.steps()["refresher-extend"])
    listed = client.get(LISTS["retab"], headers=call.headers).json()["data"]
    assert sorted(run["status"] for run in listed) == ["completed", "queued"]
    refused = [e for e in logs if e["event"] == "refresh.failed"]
    assert [(e["run"], e["status"]) for e in refused] == [("clr_big", 502)]
