"""A create naming a file of crosswalk's own store, on a backend of the client's own vendor
(where creates are otherwise relayed as they came): the file is copied to that vendor first
and the create names the vendor's copy. A body that does not read as a create is refused by
crosswalk, not relayed: crosswalk's file id never reaches a vendor (hazard 13)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from litestar.testing import TestClient

from tests.harness import URLS, MakeGateway, extend_error, retab_error, wire_json

HEADERS = {"x-extend-api-version": "2026-02-09", "authorization": "Bearer gw-key"}
CONFIG = {"classifications": [{"id": "invoice", "type": "invoice", "description": "a bill"}]}
# bodies crosswalk cannot read as the vendor's create: an unknown key, a field of the wrong
# type, one its mapping refuses
EXTEND_UNREADABLE = [{"unknownKey": 1}, {"metadata": 7}, {"config": {"classifications": []}}]
RETAB_UNREADABLE = [{"unknown_key": 1}, {"model": 7}, {"n_consensus": 0}]


def stored_file(client: TestClient[Any]) -> str:
    """The id of a file uploaded to crosswalk's own store (the Extend surface's upload)."""
    upload = ("scan.txt", b"INVOICE total due", "text/plain")
    uploaded = client.post("/files/upload", files={"file": upload}, headers=HEADERS)
    assert uploaded.status_code == 200, uploaded.text
    file_id: str = uploaded.json()["id"]
    assert file_id.startswith("file_xw1-")
    return file_id


def extend_vendor() -> respx.MockRouter:
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.post("/files/upload").respond(200, json=wire_json("extend_files_upload_response.json"))
    router.post("/classify").respond(200, json=wire_json("extend_classify_response.json"))
    created = wire_json("extend_classify_runs_create_response.json")
    router.post("/classify_runs").respond(200, json=created)
    return router


def sent(router: respx.MockRouter, path: str) -> list[Any]:
    return [json.loads(c.request.content) for c in router.calls if c.request.url.path == path]


@pytest.mark.parametrize("path", ["/classify", "/classify_runs"])
@pytest.mark.parametrize("extra", [{}, {"metadata": {"tenant": "acme"}}])
def test_an_extend_create_naming_a_stored_file_names_extends_copy(
    make_gateway: MakeGateway, path: str, extra: dict[str, Any]
) -> None:
    extend = extend_vendor()
    client = make_gateway.mocked_client({"extend": extend}, default="extend")
    body = {"file": {"id": stored_file(client)}, "config": CONFIG, **extra}
    response = client.post(path, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    copy = wire_json("extend_files_upload_response.json")["id"]
    [create] = sent(extend, path)
    assert create["file"] == {"id": copy}
    assert [c.request.url.path for c in extend.calls] == ["/files/upload", path]


@pytest.mark.parametrize("path", ["/classify", "/classify_runs"])
@pytest.mark.parametrize("extra", EXTEND_UNREADABLE)
def test_an_unreadable_extend_create_naming_a_stored_file_is_refused_not_relayed(
    make_gateway: MakeGateway, path: str, extra: dict[str, Any]
) -> None:
    extend = extend_vendor()
    client = make_gateway.mocked_client({"extend": extend}, default="extend")
    body = {"file": {"id": stored_file(client)}, "config": CONFIG, **extra}
    extend_error(client.post(path, json=body, headers=HEADERS), 400)
    assert not extend.calls


def test_an_unreadable_extend_create_naming_a_crosswalk_link_is_refused_not_relayed(
    make_gateway: MakeGateway,
) -> None:
    extend = extend_vendor()
    client = make_gateway.mocked_client({"extend": extend}, default="extend")
    file_id = stored_file(client)
    link = client.get(f"/files/{file_id}", headers=HEADERS).json()["presignedUrl"]
    body = {"file": {"url": link}, "config": CONFIG, "unknownKey": 1}
    extend_error(client.post("/classify_runs", json=body, headers=HEADERS), 400)
    assert not extend.calls


def test_an_unreadable_extend_create_naming_extends_own_file_is_still_relayed(
    make_gateway: MakeGateway,
) -> None:
    extend = extend_vendor()
    client = make_gateway.mocked_client({"extend": extend}, default="extend")
    body = {"file": {"id": "file_xQ4nT8vB2mK6pR9sW3yZ7c"}, "config": CONFIG, "unknownKey": 1}
    response = client.post("/classify_runs", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert sent(extend, "/classify_runs") == [body]  # the vendor judges it


@pytest.mark.parametrize("extra", RETAB_UNREADABLE)
def test_an_unreadable_retab_create_naming_a_stored_file_is_refused_not_relayed(
    make_gateway: MakeGateway, extra: dict[str, Any]
) -> None:
    retab = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    retab.post("/v1/classifications").respond(201, json=wire_json("retab_create_response_201.json"))
    client = make_gateway.mocked_client({"retab": retab}, default="retab")
    document = {"id": stored_file(client), "filename": "scan.txt"}
    body = {"document": document, "categories": [{"name": "invoice"}], **extra}
    retab_error(client.post("/v1/classifications", json=body, headers=HEADERS), 422)
    assert not retab.calls
