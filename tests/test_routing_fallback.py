"""`[routing] fallback`: a create whose primary fails before a run exists is served by the next
fallback backend (design.md §5), and the `crosswalk-backend` / `crosswalk-attempts` headers
say what happened.

The primaries are respx-mocked vendors; the fallback is the offline `local` backend. Each
failure kind that leaves no run upstream (no connection, a 5xx, a 429) falls back, on both
surfaces and on both paths (relayed and translated), and the run is then recorded under the
fallback (a later GET of its id is served by it). A client's 4xx, a timeout after sending and
a run the vendor accepted are answered as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from structlog.testing import capture_logs

from gateway.cli import describe
from gateway.config import ConfigError, LocalBackendConfig, Settings, resolve
from mappings import ids
from mappings.dialects import Dialect
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    mocked,
    mocked_vendors_settings,
    wire,
    wire_json,
)

RETAB_HEADERS = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND_HEADERS = {**RETAB_HEADERS, "x-extend-api-version": "2026-02-09"}
RETAB_CREATE = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
    "background": True,
}
EXTEND_CREATE = {
    "file": {"text": "Invoice number 7, total due"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "A bill"}]},
}
# (surface's create path, headers, body) by surface
SURFACES: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "retab": ("/v1/classifications", RETAB_HEADERS, RETAB_CREATE),
    "extend": ("/classify_runs", EXTEND_HEADERS, EXTEND_CREATE),
}
VENDOR_PATHS = {"retab": "/v1/classifications", "extend": "/classify_runs"}


def _failure(kind: str, vendor: str) -> httpx.Response | type[Exception]:
    """The vendor's failing answer to a create: a connection refused, or an HTTP status."""
    if kind == "refused":
        return httpx.ConnectError
    status = int(kind)
    if vendor == "extend":
        name = (
            "extend_error_429_rate_limited.json"
            if status == 429
            else "extend_error_500_internal.json"
        )
        return httpx.Response(
            status, content=wire(name), headers={"content-type": "application/json"}
        )
    return httpx.Response(status, json={"detail": "upstream trouble"})


def _json(status: int, content: bytes) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": "application/json"})


def _vendor(vendor: str, answer: httpx.Response | type[Exception]) -> respx.MockRouter:
    router = respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
    route = router.post(VENDOR_PATHS[vendor])
    if isinstance(answer, httpx.Response):
        route.mock(return_value=answer)
    else:
        route.mock(side_effect=answer)
    return router


def _settings(
    tmp_path: Path, vendors: list[str], *, default: str, fallback: tuple[str, ...] = ("local",)
) -> Settings:
    settings = mocked_vendors_settings(tmp_path, vendors, default=default, fallback=fallback)
    backends = {**settings.backends, "local": LocalBackendConfig()}
    return msgspec.structs.replace(settings, backends=backends)


def _client(
    make_gateway: MakeGateway,
    tmp_path: Path,
    routers: dict[str, respx.MockRouter],
    *,
    default: str,
    fallback: tuple[str, ...] = ("local",),
) -> Any:
    settings = _settings(tmp_path, list(routers), default=default, fallback=fallback)
    return make_gateway.client(settings, mocked(routers))


def _run_url(surface: str, run_id: str) -> str:
    return f"{SURFACES[surface][0]}/{run_id}"


def _listed(client: Any, surface: str) -> list[str]:
    path, headers, _ = SURFACES[surface]
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["data"]]


# (surface, primary vendor): relayed when they match, translated when not
PATHS: list[tuple[Dialect, str]] = [
    ("extend", "extend"),
    ("retab", "retab"),
    ("retab", "extend"),
    ("extend", "retab"),
]
KINDS = ["refused", "500", "502", "503", "429"]


@pytest.mark.parametrize(("surface", "vendor"), PATHS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_failure_before_a_run_falls_back_and_the_run_is_served_by_the_fallback(
    make_gateway: MakeGateway, tmp_path: Path, surface: Dialect, vendor: str, kind: str
) -> None:
    router = _vendor(vendor, _failure(kind, vendor))
    client = _client(make_gateway, tmp_path, {vendor: router}, default=vendor)
    path, headers, body = SURFACES[surface]

    answer = client.post(path, json=body, headers=headers)

    assert answer.status_code in (200, 201), answer.text
    assert router.calls.call_count == 1  # the primary was tried, once
    assert answer.headers["crosswalk-backend"] == "local"
    outcome = "unsent" if kind == "refused" else kind
    assert answer.headers["crosswalk-attempts"] == f"{vendor}:{outcome}, local:ok"
    run_id = answer.json()["id"]
    assert ids.decode(surface, run_id).backend == "local"
    again = client.get(_run_url(surface, run_id), headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["crosswalk-backend"] == "local"
    assert again.json()["id"] == run_id
    assert _listed(client, surface) == [run_id]


@pytest.mark.parametrize(("surface", "vendor"), PATHS)
@pytest.mark.parametrize("status", [400, 422])
def test_a_client_error_is_answered_as_is_without_falling_back(
    make_gateway: MakeGateway, tmp_path: Path, surface: Dialect, vendor: str, status: int
) -> None:
    if vendor == "extend":
        name = "invalid_request" if status == 400 else "invalid_request_docurl"
        refusal = _json(status, wire(f"extend_error_{status}_{name}.json"))
    else:
        refusal = httpx.Response(status, json={"detail": "bad document"})
    router = _vendor(vendor, refusal)
    client = _client(make_gateway, tmp_path, {vendor: router}, default=vendor)
    path, headers, body = SURFACES[surface]

    answer = client.post(path, json=body, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.headers["crosswalk-attempts"] == f"{vendor}:{status}"
    assert answer.headers["crosswalk-backend"] == vendor
    if surface == vendor:
        assert answer.content == refusal.content  # relayed byte for byte
    assert _listed(client, surface) == []  # nothing ran on local


@pytest.mark.parametrize(("surface", "vendor"), PATHS)
def test_a_timeout_after_sending_is_answered_without_falling_back(
    make_gateway: MakeGateway, tmp_path: Path, surface: Dialect, vendor: str
) -> None:
    """The vendor may have made the run: another backend must not make a second."""
    router = _vendor(vendor, httpx.ReadTimeout)
    client = _client(make_gateway, tmp_path, {vendor: router}, default=vendor)
    path, headers, body = SURFACES[surface]

    answer = client.post(path, json=body, headers=headers)

    assert answer.status_code == 504, answer.text
    assert answer.headers["crosswalk-attempts"] == f"{vendor}:timeout"
    assert _listed(client, surface) == []


def test_a_run_extend_accepted_is_not_made_again_elsewhere(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Poll mode: Extend accepts the run, then its poll fails with a 503. The run exists, so
    the failure is answered and the run stays Extend's, recorded and listed."""
    pending = wire_json("extend_classify_runs_get_pending.json")
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.post("/classify_runs").mock(return_value=httpx.Response(200, json=pending))
    poll = router.get(f"/classify_runs/{pending['id']}").mock(
        return_value=httpx.Response(503, content=wire("extend_error_500_internal.json"))
    )
    settings = _settings(tmp_path, ["extend"], default="extend")
    extend = msgspec.structs.replace(
        settings.backends["extend"], sync_mode="poll", poll_interval=0.01
    )
    settings = msgspec.structs.replace(settings, backends={**settings.backends, "extend": extend})
    client = make_gateway.client(settings, mocked({"extend": router}))

    answer = client.post(
        "/v1/classifications", json={**RETAB_CREATE, "background": False}, headers=RETAB_HEADERS
    )

    assert poll.called
    assert answer.status_code == 502, answer.text
    assert answer.headers["crosswalk-attempts"] == "extend:503"
    assert answer.headers["crosswalk-backend"] == "extend"
    listed = _listed(client, "retab")
    assert [ids.decode("retab", run_id).backend for run_id in listed] == ["extend"]


def test_a_relayed_run_the_vendor_accepted_is_served_by_it(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    created = wire("extend_classify_runs_create_response.json")
    router = _vendor(
        "extend", httpx.Response(200, content=created, headers={"content-type": "application/json"})
    )
    client = _client(make_gateway, tmp_path, {"extend": router}, default="extend")

    answer = client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND_HEADERS)

    assert answer.status_code == 200, answer.text
    assert answer.content == created
    assert answer.headers["crosswalk-backend"] == "extend"
    assert answer.headers["crosswalk-attempts"] == "extend:ok"


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_chain_of_two_fallbacks_where_the_first_also_fails(
    make_gateway: MakeGateway, tmp_path: Path, surface: Dialect
) -> None:
    extend = _vendor("extend", _failure("503", "extend"))
    retab = _vendor("retab", _failure("429", "retab"))
    routers = {"extend": extend, "retab": retab}
    client = _client(
        make_gateway, tmp_path, routers, default="extend", fallback=("extend", "retab", "local")
    )
    path, headers, body = SURFACES[surface]

    with capture_logs() as logs:
        answer = client.post(path, json=body, headers=headers)

    assert answer.status_code in (200, 201), answer.text
    # the primary is skipped in its own fallback list
    assert (extend.calls.call_count, retab.calls.call_count) == (1, 1)
    fell_back = [e for e in logs if e["event"] == "routing.fallback"]
    assert [(e["backend"], e["outcome"], e["to"]) for e in fell_back] == [
        ("extend", "503", "retab"),
        ("retab", "429", "local"),
    ]
    assert all(GATEWAY_KEY not in str(e) and "sk-" not in str(e) for e in fell_back)
    assert answer.headers["crosswalk-attempts"] == "extend:503, retab:429, local:ok"
    assert answer.headers["crosswalk-backend"] == "local"
    run_id = answer.json()["id"]
    assert client.get(_run_url(surface, run_id), headers=headers).status_code == 200


def test_the_last_backend_failing_answers_its_own_failure(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    extend = _vendor("extend", _failure("503", "extend"))
    retab = _vendor("retab", _failure("502", "retab"))
    client = _client(
        make_gateway,
        tmp_path,
        {"extend": extend, "retab": retab},
        default="extend",
        fallback=("retab",),
    )

    answer = client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND_HEADERS)

    assert answer.status_code == 502, answer.text
    assert answer.json()["code"]  # in Extend's error format
    assert answer.headers["crosswalk-attempts"] == "extend:503, retab:502"
    assert answer.headers["crosswalk-backend"] == "retab"


def test_a_body_the_fallback_cannot_translate_answers_the_primary_error(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    failure = _failure("503", "extend")
    assert isinstance(failure, httpx.Response)
    router = _vendor("extend", failure)
    client = _client(make_gateway, tmp_path, {"extend": router}, default="extend")
    odd = b'{"file": {"shape": "from a newer API"}, "config": {"classifications": []}}'

    answer = client.post("/classify_runs", content=odd, headers=EXTEND_HEADERS)

    assert answer.status_code == 503
    assert answer.content == failure.content  # the primary's answer, relayed
    assert answer.headers["crosswalk-backend"] == "extend"
    assert answer.headers["crosswalk-attempts"] == "extend:503, local:untranslatable"
    assert _listed(client, "extend") == []


def _resolve(routing: dict[str, Any], backends: dict[str, Any]) -> Settings:
    return resolve({"backends": backends, "routing": routing}, {})


def test_config_names_the_unknown_fallback_backend() -> None:
    backends = {"local": {"kind": "local"}}
    with pytest.raises(ConfigError, match=r"routing\.fallback\[1\]: unknown backend 'nowhere'"):
        _resolve({"default": "local", "fallback": ["local", "nowhere"]}, backends)


def test_config_requires_the_key_of_a_fallback_backend_a_surface_can_reach() -> None:
    """A Retab backend reached as the Extend surface's fallback needs a key of its own."""
    backends = {"local": {"kind": "local"}, "retab": {"kind": "retab", "base_url": URLS["retab"]}}
    with pytest.raises(ConfigError, match=r"backends\.retab\.api_key_env: required"):
        _resolve({"default": "local", "fallback": ["retab"]}, backends)
    settings = _resolve({"default": "local", "fallback": ["local"]}, backends)
    assert settings.fallback == ("local",)


def test_check_config_shows_the_fallback_order() -> None:
    settings = _resolve({"default": "local", "fallback": ["local"]}, {"local": {"kind": "local"}})
    assert "fallback (before a run exists, in order): local" in describe(settings)


def test_a_pure_proxy_primary_cannot_have_a_fallback() -> None:
    """A keyless Extend backend relays the Extend surface's listings with each client's own
    key: a run a fallback served elsewhere would never be listed, so the pair is refused."""
    backends = {
        "extend": {"kind": "extend", "base_url": "https://api.extend.test"},
        "local": {"kind": "local"},
    }
    routes = {"default": "local", "extend": "extend", "fallback": ["local"]}
    with pytest.raises(ConfigError, match="a pure proxy cannot be one of them"):
        resolve({"backends": backends, "routing": routes}, {})
    resolve({"backends": backends, "routing": {**routes, "fallback": []}}, {})


@pytest.mark.parametrize(("surface", "vendor"), PATHS)
def test_a_vendor_gateway_timeout_is_answered_without_falling_back(
    make_gateway: MakeGateway, tmp_path: Path, surface: Dialect, vendor: str
) -> None:
    """A vendor's 504 is a timeout on its side: the run may still be being made there, so no
    second one is made elsewhere."""
    router = _vendor(vendor, _failure("504", vendor))
    client = _client(make_gateway, tmp_path, {vendor: router}, default=vendor)
    path, headers, body = SURFACES[surface]

    answer = client.post(path, json=body, headers=headers)

    assert answer.status_code >= 500, answer.text
    assert answer.headers["crosswalk-attempts"] == f"{vendor}:504"
    assert answer.headers["crosswalk-backend"] == vendor
    assert _listed(client, surface) == []


def test_a_fallback_refusing_the_body_answers_the_primary_s_failure(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Extend is down (503); the Retab fallback refuses the document (422). The client's body
    was fine for its own vendor: it gets Extend's retryable 503, not Retab's refusal."""
    failure = _failure("503", "extend")
    assert isinstance(failure, httpx.Response)
    extend = _vendor("extend", failure)
    retab = _vendor("retab", httpx.Response(422, json={"detail": "retab says no"}))
    routers = {"extend": extend, "retab": retab}
    client = _client(make_gateway, tmp_path, routers, default="extend", fallback=("retab",))

    answer = client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND_HEADERS)

    assert answer.status_code == 503, answer.text
    assert answer.content == failure.content  # the primary's answer, relayed
    assert answer.headers["crosswalk-backend"] == "extend"
    assert answer.headers["crosswalk-attempts"] == "extend:503, retab:422"
    assert "retab says no" not in answer.text
