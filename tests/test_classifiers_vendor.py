"""`GET /classifiers[/{id}]` with an Extend backend (respx): the vendor's own classifiers are
relayed byte for byte when the config has none, and listed after the config's when it has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from extend_ai.classifiers.types.classifiers_list_response import ClassifiersListResponse
from litestar.testing import TestClient

from gateway.config import LocalBackendConfig, load_settings
from mappings import extend
from tests.harness import (
    URLS,
    MakeGateway,
    extend_error,
    mocked,
    vendor_backend,
    vendor_settings,
    wire,
)

CONFIG = Path(__file__).parent.parent / "fixtures" / "config" / "classifiers.toml"
HEADERS = {"authorization": "Bearer gw-key", extend.VERSION_HEADER: extend.API_VERSION}
LISTED = wire("extend_classifiers_list_response.json")
VENDOR_TOKEN = json.loads(LISTED)["nextPageToken"]
CONFIG_IDS = ["cl_mail", "cl_freight", "cl_contracts"]  # newest first
VENDOR_ONLY = ["cl_Xj8mK2pL9nR4vT7qY5wZ", "cl_Rt5yU7iO9pA1sD3fG5hJ7k"]  # its cl_freight shadowed


@pytest.fixture
def upstream() -> respx.MockRouter:
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.get("/classifiers").respond(200, content=LISTED)
    router.get("/classifiers/cl_Rt5yU7iO9pA1sD3fG5hJ7k").respond(
        200, content=wire("extend_classifiers_get_response.json")
    )
    router.get("/classifiers/cl_gone").respond(
        404,
        json={"code": "NOT_FOUND", "message": "Classifier cl_gone not found.", "retryable": False},
    )
    return router


def _client(
    make_gateway: MakeGateway, upstream: respx.MockRouter, *, config: bool
) -> TestClient[Any]:
    saved = load_settings(CONFIG, {}).classifiers if config else {}
    return make_gateway.mocked_client({"extend": upstream}, default="extend", classifiers=saved)


def _sent(upstream: respx.MockRouter, n: int = -1) -> httpx.Request:
    request: httpx.Request = upstream.calls[n].request
    return request


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def test_without_config_the_vendors_list_is_relayed(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """No classifiers in the config: Extend's own answer, byte for byte, to the client's
    query as it came; only the key is crosswalk's."""
    client = _client(make_gateway, upstream, config=False)
    headers = HEADERS | {extend.WORKSPACE_HEADER: "ws_1"}
    query = "maxPageSize=7&sortBy=updatedAt&nextPageToken=abc%3D%3D"
    response = client.get(f"/classifiers?{query}", headers=headers)
    assert response.status_code == 200
    assert response.content == LISTED
    assert response.headers["crosswalk-backend"] == "extend"
    sent = _sent(upstream)
    assert sorted(sent.url.params.multi_items()) == sorted(httpx.QueryParams(query).multi_items())
    assert sent.headers["authorization"] == "Bearer sk-extend"
    assert sent.headers[extend.WORKSPACE_HEADER] == "ws_1"
    assert sent.headers[extend.VERSION_HEADER] == extend.API_VERSION


def test_a_vendor_classifier_is_relayed(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """`GET /classifiers/{id}` for an id the config lacks: Extend's answer as it came, its
    404 included."""
    client = _client(make_gateway, upstream, config=True)
    found = client.get("/classifiers/cl_Rt5yU7iO9pA1sD3fG5hJ7k", headers=HEADERS)
    assert found.content == wire("extend_classifiers_get_response.json")
    gone = client.get("/classifiers/cl_gone", headers=HEADERS)
    assert gone.status_code == 404
    assert gone.json()["message"] == "Classifier cl_gone not found."


def test_the_config_shadows_the_vendor(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """An id both have is the config's: read without asking Extend, and left out of
    Extend's part of a listing."""
    client = _client(make_gateway, upstream, config=True)
    response = client.get("/classifiers/cl_freight", headers=HEADERS)
    assert response.json()["name"] == "Inbound freight"
    assert not upstream.calls
    assert _ids(client.get("/classifiers", headers=HEADERS)).count("cl_freight") == 1


def test_the_config_first_then_the_vendor(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """A page fits the config's classifiers, then fills from Extend's first page (asked for
    the room left); Extend's token goes on from there, its items raw (unknown fields kept)."""
    client = _client(make_gateway, upstream, config=True)
    first = client.get("/classifiers?maxPageSize=5", headers=HEADERS)
    assert _ids(first) == CONFIG_IDS + VENDOR_ONLY
    assert first.json()["data"][3]["folderId"] == "fld_future_field"
    assert first.json()["nextPageToken"] == VENDOR_TOKEN
    ClassifiersListResponse.model_validate(first.json())
    asked = _sent(upstream).url.params
    assert (asked["maxPageSize"], "nextPageToken" in asked) == ("2", False)
    second = client.get("/classifiers", params={"nextPageToken": VENDOR_TOKEN}, headers=HEADERS)
    assert _ids(second) == VENDOR_ONLY
    asked = _sent(upstream).url.params
    assert (asked["nextPageToken"], asked["maxPageSize"]) == (VENDOR_TOKEN, "10")


def test_a_full_page_of_config_hands_on_to_the_vendor(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """A page the config's classifiers fill asks Extend nothing; its token starts Extend's."""
    client = _client(make_gateway, upstream, config=True)
    first = client.get("/classifiers?maxPageSize=3&sortDir=asc", headers=HEADERS)
    assert _ids(first) == CONFIG_IDS[::-1]
    assert not upstream.calls
    token = first.json()["nextPageToken"]
    second = client.get(
        "/classifiers",
        params={"maxPageSize": "3", "sortDir": "asc", "nextPageToken": token},
        headers=HEADERS,
    )
    assert _ids(second) == VENDOR_ONLY
    asked = _sent(upstream).url.params
    assert (asked["maxPageSize"], asked["sortDir"], "nextPageToken" in asked) == ("3", "asc", False)


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (
            httpx.Response(429, headers={"retry-after": "7"}, json={"code": "RATE_LIMIT_EXCEEDED"}),
            429,
            "RATE_LIMIT_EXCEEDED",
        ),
        (
            httpx.Response(401, json={"code": "UNAUTHORIZED", "message": "bad key"}),
            502,
            "INTERNAL_ERROR",
        ),
        (httpx.Response(200, content=b"<html>"), 502, "INTERNAL_ERROR"),
    ],
)
def test_the_vendors_failures(
    make_gateway: MakeGateway,
    upstream: respx.MockRouter,
    answer: httpx.Response,
    status: int,
    code: str,
) -> None:
    """Filling from Extend: its refusal is relayed (Retry-After kept); a refusal of
    crosswalk's own key, or an answer it cannot read, is the vendor's failure, a 502."""
    upstream.get("/classifiers").mock(return_value=answer)
    client = _client(make_gateway, upstream, config=True)
    response = client.get("/classifiers", headers=HEADERS)
    assert response.status_code == status, response.text
    if status == 429:
        assert response.headers["retry-after"] == "7"
    else:
        assert extend_error(response, 502)["code"] == code
        assert "sk-extend" not in response.text


def test_an_extend_backend_beside_the_surfaces_own(
    make_gateway: MakeGateway, tmp_path: Path, upstream: respx.MockRouter
) -> None:
    """Extend clients on the local backend, an Extend backend configured too: its
    classifiers are listed, as they are what `classifier: {id}` resolves through."""
    settings = vendor_settings(
        tmp_path,
        {"local": LocalBackendConfig(), "extend": vendor_backend("extend", api_key_env="K")},
        default="local",
        api_keys=("gw-key",),
        upstream_keys={"extend": "sk-extend"},
    )
    client = make_gateway.client(settings, mocked({"extend": upstream}))
    assert client.get("/classifiers", headers=HEADERS).content == LISTED
