"""The documented statuses crosswalk answers only in particular states, driven against a
running gateway and checked as tests/test_openapi.py checks every answer (status documented
for its operation, body valid against the documented schema): 409 (a concurrent duplicate
create), 429 (crosswalk's own per-key limits), 503 (an open circuit) and `/readyz`'s 503."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import msgspec
import respx

from gateway.config import LimitsConfig
from mappings import extend
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    local_settings,
    mocked,
    mocked_vendors_settings,
    vendor_backend,
    wire,
)
from tests.openapi_support import DocumentedClient
from tests.test_openapi import _extend_body, _retab_body

EXTEND_HEADERS = {extend.VERSION_HEADER: extend.API_VERSION}
CREATES = [
    ("retab", "/v1/classifications", _retab_body, {}),
    ("extend", "/classify_runs", _extend_body, EXTEND_HEADERS),
    ("extend", "/classify", _extend_body, EXTEND_HEADERS),
]


def served_document(http: httpx.Client) -> DocumentedClient:
    """A client checking answers against the document the gateway itself serves."""
    return DocumentedClient(http, http.get("/schema").json())


class HeldCreate:
    """A respx side effect answering a vendor's create only once `release` is set."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.arrived.set()
        await anyio.to_thread.run_sync(self.release.wait)
        return self.answer


def test_a_concurrent_duplicate_create_is_the_documented_409(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Each surface's create held at its vendor: the same create with the same
    `Idempotency-Key` meanwhile is a documented 409, and the first is answered as documented
    once released."""
    routers = {
        vendor: respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
        for vendor in ("retab", "extend")
    }
    run = wire("extend_classify_runs_create_response.json")
    holds = {
        path: HeldCreate(httpx.Response(200, content=run))
        for path in ("/classify_runs", "/classify")
    }
    retab_run = wire("retab_create_response_201.json")
    holds["/v1/classifications"] = HeldCreate(httpx.Response(201, content=retab_run))
    for vendor, path in (
        ("retab", "/v1/classifications"),
        ("extend", "/classify_runs"),
        ("extend", "/classify"),
    ):
        routers[vendor].post(path).mock(side_effect=holds[path])
    settings = mocked_vendors_settings(
        tmp_path, routers, default="retab", surface_backends={"retab": "retab", "extend": "extend"}
    )
    gateway = make_gateway(settings, mocked(routers), served=True)
    api = served_document(gateway.http(GATEWAY_KEY))
    for _, path, body, headers in CREATES:
        sent = {**headers, "idempotency-key": f"held-{path}"}
        first = gateway.http(GATEWAY_KEY)
        answers: list[httpx.Response] = []
        sender = threading.Thread(target=_send, args=(first, path, body(), sent, answers))
        sender.start()
        try:
            assert holds[path].arrived.wait(timeout=20)
            duplicate = api.call("post", path, json=body(), headers=sent)
        finally:
            holds[path].release.set()
            sender.join(timeout=20)
        assert duplicate.status_code == 409, duplicate.text
        (answer,) = answers
        api.check("post", path, answer)
        assert answer.status_code in (200, 201), answer.text


def _send(
    http: httpx.Client,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    answers: list[httpx.Response],
) -> None:
    answers.append(http.post(path, json=body, headers=headers))


def _operations(document: dict[str, Any], status: str) -> list[tuple[str, str]]:
    """Each (method, template) of the document listing `status`."""
    return [
        (method, template)
        for template, item in document["paths"].items()
        for method, operation in item.items()
        if status in operation["responses"]
    ]


def _fill(template: str) -> dict[str, str]:
    """Some value for each of `template`'s path parameters."""
    return {name: f"{name}_nope" for name in re.findall(r"{(\w+)}", template)}


def test_a_key_over_its_limits_gets_the_documented_429_on_every_operation(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """With `[limits]` letting a key one request per ~17 minutes, after its first request every
    operation of both surfaces documenting 429 answers it, in that surface's envelope."""
    settings = local_settings(tmp_path, limits=LimitsConfig(rate_per_key=0.001, burst=1))
    api = served_document(make_gateway(settings).http(GATEWAY_KEY))
    api.http.headers.update(EXTEND_HEADERS)
    assert api.call("get", "/v1/classifications").status_code == 200
    limited = _operations(api.document, "429")
    assert {template for _, template in limited} >= {"/v1/classifications", "/classify_runs"}
    for method, template in limited:
        json: dict[str, Any] | None = {} if method in ("post", "put") else None
        answer = api.call(method, template, path=_fill(template), json=json)
        assert answer.status_code == 429, f"{method} {template}: {answer.text}"
        assert answer.headers["retry-after"]


def test_an_open_circuit_is_the_documented_503(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """Each surface's vendor backend failing `circuit_failures` times: every create of that
    surface is then refused at once with the documented 503 and `Retry-After`, nothing sent."""
    routers = {
        vendor: respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
        for vendor in ("retab", "extend")
    }
    for vendor, router in routers.items():
        router.route().mock(side_effect=httpx.ConnectError(f"{vendor} refused"))
    settings = mocked_vendors_settings(
        tmp_path, routers, default="retab", surface_backends={"retab": "retab", "extend": "extend"}
    )
    options: dict[str, Any] = {"retries": 0, "circuit_failures": 2, "circuit_cooldown": 30.0}
    backends = {
        vendor: vendor_backend(vendor, api_key_env=f"{vendor.upper()}_API_KEY", **options)
        for vendor in routers
    }
    settings = msgspec.structs.replace(settings, backends=backends)
    api = served_document(make_gateway(settings, mocked(routers)).http(GATEWAY_KEY))
    for vendor, opening in (("retab", CREATES[0]), ("extend", CREATES[1])):
        _, path, body, headers = opening
        failing = [api.call("post", path, json=body(), headers=headers) for _ in range(2)]
        assert [a.status_code for a in failing] == [502, 502], failing[-1].text
        sent = routers[vendor].calls.call_count
        for _, create, create_body, create_headers in (c for c in CREATES if c[0] == vendor):
            refused = api.call("post", create, json=create_body(), headers=create_headers)
            assert refused.status_code == 503, refused.text
            assert 1 <= int(refused.headers["retry-after"]) <= 30
        assert routers[vendor].calls.call_count == sent  # nothing sent while open


def test_readyz_with_an_unreadable_store_is_the_documented_503(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """The ledger file gone: `/readyz` is the documented 503, its body the documented one."""
    api = served_document(make_gateway(local_settings(tmp_path)).http(GATEWAY_KEY))
    assert api.call("get", "/readyz").status_code == 200
    (tmp_path / "crosswalk.db").unlink()
    answer = api.call("get", "/readyz")
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "not_ready"
