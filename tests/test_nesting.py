"""JSON nested deeper than crosswalk reads is refused at a fixed depth, never a 500 (issue 9
item 4): a client's body on either surface, translated or relayed, and a vendor's answer.

msgspec overflows Python's recursion limit on deep nesting, at a depth that depends on the
caller's stack; `mappings.nesting` bounds every document at MAX_NESTING levels instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from mappings.dialects import Dialect
from mappings.nesting import MAX_NESTING, NestingTooDeep, decode, nested_deeper_than
from tests.cross_vendor_app import error_of, serve
from tests.harness import (
    URLS,
    MakeGateway,
    extend_error,
    local_settings,
    retab_error,
    wire,
    wire_json,
)

HEADERS: dict[Dialect, dict[str, str]] = {
    "retab": {"authorization": "Bearer gw-key"},
    "extend": {"authorization": "Bearer gw-key", "x-extend-api-version": "2026-02-09"},
}
CLASSIFICATIONS = json.dumps([{"id": "invoice", "type": "invoice", "description": "A bill"}])
DOCUMENT = json.dumps({"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="})
DEPTHS = [pytest.param(1_000, id="1k-deep"), pytest.param(100_000, id="100k-deep")]
TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"


def nested(depth: int) -> str:
    """Arrays `depth` levels deep, as raw JSON: Python's own json would overflow building it."""
    return "[" * depth + "]" * depth


def refused(surface: Dialect, response: httpx.Response) -> str:
    """The vendor's invalid-body error in the caller's dialect (Retab 422, Extend 400
    INVALID_REQUEST); its text, to check what it names."""
    if surface == "retab":
        return json.dumps(retab_error(response, 422))
    body = extend_error(response, 400)
    assert body["code"] == "INVALID_REQUEST"
    assert body["retryable"] is False
    return str(body["message"])


# (surface, path, body with `%s` where the deep value goes): every place a body can nest
DEEP_BODIES = [
    pytest.param(
        "extend",
        "/classify_runs",
        f'{{"file":{{"text":"x"}},"config":{{"classifications":{CLASSIFICATIONS}}},'
        '"metadata":{"a":%s}}',
        id="extend-metadata",
    ),
    pytest.param(
        "extend",
        "/classify",
        f'{{"file":{{"text":"x"}},"config":{{"classifications":{CLASSIFICATIONS},'
        '"parseConfig":{"a":%s}}}',
        id="extend-parseConfig",
    ),
    pytest.param(
        "extend",
        "/classify_runs",
        '{"file":{"text":"x"},"classifier":{"id":"cl_1","overrideConfig":{"parseConfig":'
        '{"a":%s}}}}',
        id="extend-overrideConfig",
    ),
    pytest.param("extend", "/classify", '{"file":%s}', id="extend-file"),
    pytest.param(
        "retab", "/v1/classifications", '{"document":%s,"categories":[]}', id="retab-document"
    ),
    pytest.param(
        "retab",
        "/v1/classifications",
        f'{{"document":{DOCUMENT},"categories":%s}}',
        id="retab-categories",
    ),
    pytest.param(
        "retab",
        "/v1/classifications",
        f'{{"document":{DOCUMENT},"categories":[{{"name":"a"}}],"instructions":%s}}',
        id="retab-instructions",
    ),
]


@pytest.fixture
def local(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    return make_gateway.client(local_settings(tmp_path))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("surface", "path", "template"), DEEP_BODIES)
def test_a_deeply_nested_body_is_the_vendors_invalid_body_error(
    local: TestClient[Any], surface: Dialect, path: str, template: str, depth: int
) -> None:
    """Any field nested 1,000 or 100,000 deep is refused in the caller's dialect."""
    response = local.post(path, content=template % nested(depth), headers=HEADERS[surface])
    refused(surface, response)


def _metadata_body(depth: int) -> str:
    # the body and `metadata` are two levels; arrays make up the rest
    inner = nested(depth - 2)
    return (
        f'{{"file":{{"text":"x"}},"config":{{"classifications":{CLASSIFICATIONS}}},'
        f'"metadata":{{"a":{inner}}}}}'
    )


def test_metadata_nested_to_the_bound_is_kept_and_one_level_more_is_not(
    local: TestClient[Any],
) -> None:
    """The bound is one fixed depth: at it, metadata is stored and echoed by get and list;
    one level deeper, the create is refused and nothing is stored."""
    headers = HEADERS["extend"]
    created = local.post("/classify_runs", content=_metadata_body(MAX_NESTING), headers=headers)
    assert created.status_code == 200, created.text
    metadata = json.loads(_metadata_body(MAX_NESTING))["metadata"]
    assert created.json()["metadata"] == metadata
    got = local.get(f"/classify_runs/{created.json()['id']}", headers=headers)
    assert got.json()["metadata"] == metadata
    deeper = local.post("/classify_runs", content=_metadata_body(MAX_NESTING + 1), headers=headers)
    assert TOO_DEEP in refused("extend", deeper)
    listed = local.get("/classify_runs", headers=headers).json()["data"]
    assert [run["metadata"] for run in listed] == [metadata]


@pytest.fixture
def upstream() -> dict[str, respx.MockRouter]:
    return {v: respx.MockRouter(base_url=URLS[v], assert_all_called=False) for v in URLS}


def relay_client(
    make_gateway: MakeGateway, upstream: dict[str, respx.MockRouter], vendor: Dialect
) -> TestClient[Any]:
    """A client of `vendor`'s surface served by a (mocked) `vendor` backend: a relay."""
    return make_gateway.mocked_client({vendor: upstream[vendor]}, default=vendor)


def test_a_relayed_body_nested_too_deeply_never_reaches_the_vendor(
    make_gateway: MakeGateway, upstream: dict[str, respx.MockRouter]
) -> None:
    """Relayed bodies are the vendor's to judge, but one crosswalk could not record is refused
    before it is sent: Extend `metadata` 100,000 deep."""
    client = relay_client(make_gateway, upstream, "extend")
    route = upstream["extend"].post("/classify_runs").respond(200, json={})
    body = _metadata_body(100_000)
    refused("extend", client.post("/classify_runs", content=body, headers=HEADERS["extend"]))
    assert not route.called


# (vendor, its create path and success status, a run of its own with a deep field added)
DEEP_ANSWERS = [
    pytest.param("extend", "/classify_runs", 200, "extend_classify_runs_create_response.json"),
    pytest.param("retab", "/v1/classifications", 201, "retab_create_response_201.json"),
]


# each vendor's sync create: its success status and a run it answers with
CREATED = {
    "extend": (200, "extend_classify_response.json"),
    "retab": (201, "retab_create_response_201.json"),
}


def _deep_run(fixture: str, field: str, depth: int) -> bytes:
    run = wire(fixture).rstrip()
    assert run.endswith(b"}")
    return run[:-1] + f',"{field}":{{"a":{nested(depth)}}}}}'.encode()


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("vendor", "path", "status", "fixture"), DEEP_ANSWERS)
def test_a_deeply_nested_vendor_run_is_relayed_unrecorded(
    make_gateway: MakeGateway,
    upstream: dict[str, respx.MockRouter],
    vendor: Dialect,
    path: str,
    status: int,
    fixture: str,
    depth: int,
) -> None:
    """A vendor's run crosswalk cannot read (a field nested past the bound, known or not)
    still reaches the client byte for byte; it is not recorded, and a warning says so."""
    client = relay_client(make_gateway, upstream, vendor)
    answer = _deep_run(fixture, "metadata" if vendor == "extend" else "extra", depth)
    upstream[vendor].post(path).respond(status, content=answer)
    body = (
        wire("extend_classify_request.json")
        if vendor == "extend"
        else wire("retab_create_request.json")
    )
    with capture_logs() as logs:
        response = client.post(path, content=body, headers=HEADERS[vendor])
    assert response.status_code == status
    assert response.content == answer
    assert any(e["event"] == "passthrough.unrecorded" for e in logs)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_deeply_nested_vendor_answer_is_a_502_when_translated(
    tmp_path: Path, surface: Dialect, depth: int
) -> None:
    """A run from the other vendor nested past the bound is that vendor's failure: a 502."""
    with serve(surface, tmp_path) as leg:
        status, fixture = CREATED[leg.vendor]
        answer = _deep_run(fixture, "metadata", depth)
        leg.upstream.post(leg.create_path).respond(status, content=answer)
        _, message, _ = error_of(leg, leg.create(), 502)
    assert TOO_DEEP in message


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_deeply_nested_vendor_error_keeps_its_status(tmp_path: Path, surface: Dialect) -> None:
    """A vendor's 400 whose JSON nests past the bound is still its 400, read as plain text."""
    with serve(surface, tmp_path) as leg:
        error = wire_json(
            "extend_error_400_invalid_request.json"
            if leg.vendor == "extend"
            else "retab_error_400_detail_object.json"
        )
        deep = json.dumps(error)[:-1] + f',"extra":{nested(100_000)}}}'
        leg.upstream.post(leg.create_path).respond(400, content=deep.encode())
        error_of(leg, leg.create(), 400)


@pytest.mark.parametrize(
    ("document", "deeper"),
    [
        ("[]", False),
        ("{}", False),
        ('"[[[[["', False),
        (nested(MAX_NESTING), False),
        ("[" * 100 + "1" + "]" * 100, True),
        (json.dumps({"a": [0] * 1000, "b": {"c": "[" * 100}}), False),
        ('{"a":' * (MAX_NESTING + 1) + "1" + "}" * (MAX_NESTING + 1), True),
    ],
)
def test_nesting_is_counted_in_levels_of_objects_and_arrays(document: str, deeper: bool) -> None:
    """Only objects and arrays count, not brackets inside strings, nor an array's width."""
    value = json.loads(document)
    assert nested_deeper_than(value, MAX_NESTING) is deeper
    if deeper:
        with pytest.raises(NestingTooDeep):
            decode(document, object)
    else:
        assert decode(document, object) == value
