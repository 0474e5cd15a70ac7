"""A Retab file id (a FileRef document) sent to an Extend backend is resolved through a Retab
backend first, as Retab's own SDK resolves it (contracts.md §4.1, hazards 11 and 13)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient

from tests.harness import URLS, MakeGateway, wire_json

RETAB, EXTEND = URLS["retab"], URLS["extend"]
HEADERS = {"authorization": "Bearer gw-key"}
FILE_ID = "file_3c0a9f1e77b2d564"
BODY = {
    "document": {"id": FILE_ID, "filename": "pos_receipt_118.jpg", "mime_type": "image/jpeg"},
    "categories": [{"name": "receipt"}, {"name": "invoice"}],
}


def _classified(request: httpx.Request) -> httpx.Response:
    """Extend's sync answer, naming the first classification the request sent."""
    sent = json.loads(request.content)
    run = wire_json("extend_classify_response.json")
    first = sent["config"]["classifications"][0]
    run["config"] = sent["config"]
    run["output"] |= {"id": first["id"], "type": first["type"]}
    return httpx.Response(200, json=run)


@pytest.fixture
def retab() -> respx.MockRouter:
    return respx.MockRouter(base_url=RETAB, assert_all_called=False)


@pytest.fixture
def extend() -> respx.MockRouter:
    router = respx.MockRouter(base_url=EXTEND, assert_all_called=False)
    router.post("/classify").mock(side_effect=_classified)
    router.post("/files/upload").respond(200, json=wire_json("extend_files_upload_response.json"))
    return router


@pytest.fixture
def client(
    make_gateway: MakeGateway, retab: respx.MockRouter, extend: respx.MockRouter
) -> TestClient[Any]:
    return make_gateway.mocked_client({"retab": retab, "extend": extend}, default="extend")


def test_a_retab_file_reaches_extend_as_its_url(
    client: TestClient[Any], retab: respx.MockRouter, extend: respx.MockRouter
) -> None:
    """Retab's download link is asked with Retab's key; Extend gets `mime_data.url`."""
    link = retab.get(f"/v1/files/{FILE_ID}/download-link").respond(
        200, json=wire_json("retab_files_download_link_response.json")
    )
    response = client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert response.status_code == 201, response.text
    assert response.json()["output"]["category"] == "receipt"
    assert link.calls.last.request.headers["authorization"] == "Bearer sk-retab"
    sent = json.loads(extend.calls.last.request.content)
    assert sent["file"] == {
        "url": "https://storage.retab.com/org_2f9a/file_3c0a9f1e77b2d564.jpg",
        "name": "pos_receipt_118.jpg",
    }
    assert extend.calls.last.request.headers["authorization"] == "Bearer sk-extend"


def test_a_retab_file_given_as_bytes_is_uploaded_to_extend(
    client: TestClient[Any], retab: respx.MockRouter, extend: respx.MockRouter
) -> None:
    """When Retab hands the file back as a data URL, its bytes go to Extend's Files API."""
    link = wire_json("retab_files_download_link_response.json")
    link["mime_data"]["url"] = "data:image/jpeg;base64,/9j/4AAQ"
    retab.get(f"/v1/files/{FILE_ID}/download-link").respond(200, json=link)
    response = client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert response.status_code == 201, response.text
    upload = next(c.request for c in extend.calls if c.request.url.path == "/files/upload")
    assert b'filename="pos_receipt_118.jpg"' in upload.content
    assert b"\xff\xd8\xff\xe0\x00\x10" in upload.content  # the decoded JPEG bytes
    sent = json.loads(extend.calls.last.request.content)
    assert set(sent["file"]) == {"id"}


def test_without_a_retab_backend_a_retab_file_is_refused(
    make_gateway: MakeGateway, retab: respx.MockRouter, extend: respx.MockRouter
) -> None:
    """No Retab backend to ask: a 422 naming `document.id`, and nothing is sent to Extend."""
    client = make_gateway.mocked_client({"extend": extend}, default="extend")
    response = client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "document", "id"]
    assert not extend.calls
