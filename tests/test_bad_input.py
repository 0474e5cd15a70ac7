"""Every kind of bad input gets a 4xx in the caller's own dialect, with an `x-request-id`.

Never a 500, never a Litestar default body (contracts.md §7, §10 hazard 26).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from gateway.config import ServerConfig
from tests.harness import MakeGateway, extend_error, local_settings, retab_error

EXTEND_HEADERS = {"x-extend-api-version": "2026-02-09", "authorization": "Bearer key-a"}
RETAB_HEADERS = {"authorization": "Bearer key-a"}
CATEGORIES = [{"name": "invoice"}, {"name": "letter"}]
CLASSIFICATIONS = [{"id": "invoice", "type": "invoice", "description": "A bill"}]


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


RETAB_CREATE = {
    "document": {"filename": "a.txt", "url": _data_url(b"Invoice total due", "text/plain")},
    "categories": CATEGORIES,
}
EXTEND_CREATE = {
    "file": {"text": "Invoice total due"},
    "config": {"classifications": CLASSIFICATIONS},
}


@pytest.fixture
def client(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    server = ServerConfig(max_body_bytes=4096)
    return make_gateway.client(local_settings(tmp_path, api_keys=("key-a",), server=server))


# Retab's detail is a string, an object or a validation list
assert_retab_error = retab_error


def assert_extend_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Extend's envelope with this `code`, a message, and not retryable: the input is bad."""
    body: dict[str, Any] = extend_error(response, status)
    assert body["code"] == code
    assert body["message"]
    assert body["retryable"] is False
    return body


def test_malformed_json(client: TestClient[Any]) -> None:
    """A body that is not JSON: Retab 422 json_invalid, Extend 400 INVALID_REQUEST."""
    retab = client.post("/v1/classifications", content=b"{nope", headers=RETAB_HEADERS)
    assert assert_retab_error(retab, 422)[0]["type"] == "json_invalid"
    extend = client.post("/classify", content=b"{nope", headers=EXTEND_HEADERS)
    assert_extend_error(extend, 400, "INVALID_REQUEST")


def test_wrong_types_name_the_field(client: TestClient[Any]) -> None:
    """A field of the wrong type is named by its location in both dialects."""
    body = {**RETAB_CREATE, "n_consensus": "three"}
    detail = assert_retab_error(
        client.post("/v1/classifications", json=body, headers=RETAB_HEADERS), 422
    )
    assert detail[0]["loc"] == ["body", "n_consensus"]
    wrong = {"file": {"text": 5}, "config": {"classifications": CLASSIFICATIONS}}
    extend = client.post("/classify", json=wrong, headers=EXTEND_HEADERS)
    assert "file.text" in assert_extend_error(extend, 400, "INVALID_REQUEST")["message"]


def test_missing_fields(client: TestClient[Any]) -> None:
    """A missing required field is named: Retab `loc`, Extend message."""
    body = {"document": RETAB_CREATE["document"]}
    detail = assert_retab_error(
        client.post("/v1/classifications", json=body, headers=RETAB_HEADERS), 422
    )
    assert detail[0]["loc"] == ["body", "categories"]
    assert detail[0]["msg"] == "Field required"
    extend = client.post(
        "/classify_runs", json={"config": EXTEND_CREATE["config"]}, headers=EXTEND_HEADERS
    )
    assert "file" in assert_extend_error(extend, 400, "INVALID_REQUEST")["message"]


def test_empty_categories(client: TestClient[Any]) -> None:
    """An empty category list is refused in both dialects, naming the field."""
    retab = client.post(
        "/v1/classifications", json={**RETAB_CREATE, "categories": []}, headers=RETAB_HEADERS
    )
    detail = assert_retab_error(retab, 422)
    assert "categories" in str(detail)
    body = {"file": {"text": "x"}, "config": {"classifications": []}}
    extend = client.post("/classify", json=body, headers=EXTEND_HEADERS)
    assert "classifications" in assert_extend_error(extend, 400, "INVALID_REQUEST")["message"]


def test_unknown_fields_are_refused(client: TestClient[Any]) -> None:
    """A field the vendor does not define is refused, not silently dropped."""
    retab = client.post(
        "/v1/classifications", json={**RETAB_CREATE, "temperature": 1}, headers=RETAB_HEADERS
    )
    assert "temperature" in str(assert_retab_error(retab, 422))
    extend = client.post(
        "/classify", json={**EXTEND_CREATE, "speed": "max"}, headers=EXTEND_HEADERS
    )
    assert "speed" in assert_extend_error(extend, 400, "INVALID_REQUEST")["message"]


@pytest.mark.parametrize("run_id", ["cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2", "cls_xw1-AAAA", "garbage"])
def test_unknown_retab_id(client: TestClient[Any], run_id: str) -> None:
    """Unknown or malformed ids are Retab's 404 on get, cancel and delete."""
    for method, path in (("GET", ""), ("POST", "/cancel"), ("DELETE", "")):
        response = client.request(
            method, f"/v1/classifications/{run_id}{path}", headers=RETAB_HEADERS
        )
        assert assert_retab_error(response, 404) == "Not found"


@pytest.mark.parametrize("run_id", ["clr_doesNotExist000000000", "clr_xw1-AAAA", "garbage"])
def test_unknown_extend_id(client: TestClient[Any], run_id: str) -> None:
    """Unknown or malformed ids are Extend's 404 NOT_FOUND on get, cancel and delete."""
    for method, path in (("GET", ""), ("POST", "/cancel"), ("DELETE", "")):
        response = client.request(method, f"/classify_runs/{run_id}{path}", headers=EXTEND_HEADERS)
        assert_extend_error(response, 404, "NOT_FOUND")


def test_wrong_method(client: TestClient[Any]) -> None:
    """A method a route does not serve is a 405 with `Allow`, in the dialect."""
    retab = client.put("/v1/classifications", headers=RETAB_HEADERS)
    assert assert_retab_error(retab, 405) == "Method Not Allowed"
    assert "POST" in retab.headers["allow"]
    extend = client.put("/classify", headers=EXTEND_HEADERS)
    assert_extend_error(extend, 405, "NOT_FOUND")


def test_unknown_path_under_a_surface(client: TestClient[Any]) -> None:
    """An unknown path under either surface's prefix is that surface's 404."""
    assert (
        assert_retab_error(client.get("/v1/extractions", headers=RETAB_HEADERS), 404) == "Not Found"
    )
    assert_extend_error(
        client.get("/classify_runs/a/b/c", headers=EXTEND_HEADERS), 404, "NOT_FOUND"
    )


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_invalid_key(client: TestClient[Any], key: str | None) -> None:
    """No key or an unknown key is a 401 in each dialect."""
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    assert assert_retab_error(client.get("/v1/classifications", headers=headers), 401)
    extend_headers = {**headers, "x-extend-api-version": "2026-02-09"}
    assert_extend_error(client.get("/classify_runs", headers=extend_headers), 401, "UNAUTHORIZED")


def test_body_over_the_size_limit(client: TestClient[Any]) -> None:
    """A body larger than `server.max_body_bytes` is a 413 in the dialect."""
    big = {**RETAB_CREATE, "instructions": "x" * 10_000}
    detail = assert_retab_error(
        client.post("/v1/classifications", json=big, headers=RETAB_HEADERS), 413
    )
    assert detail["code"] == "PAYLOAD_TOO_LARGE"
    extend = client.post(
        "/classify", json={**EXTEND_CREATE, "metadata": {"x": "y" * 10_000}}, headers=EXTEND_HEADERS
    )
    assert_extend_error(extend, 413, "INVALID_REQUEST")


@pytest.mark.parametrize("background", [False, True])
def test_undecodable_document(client: TestClient[Any], background: bool) -> None:
    """A document that cannot be read is a 400 naming the problem, sync or background."""
    png = {"filename": "scan.png", "url": _data_url(b"\x89PNG\r\n\x1a\n\x00", "image/png")}
    body = {**RETAB_CREATE, "document": png, "background": background}
    detail = assert_retab_error(
        client.post("/v1/classifications", json=body, headers=RETAB_HEADERS), 400
    )
    assert detail["code"] == "INVALID_DOCUMENT"
    assert "OCR" in detail["message"]


def test_bad_data_url(client: TestClient[Any]) -> None:
    """A document URL that is neither a data URL nor https is refused, naming it."""
    body = {**RETAB_CREATE, "document": {"filename": "a.txt", "url": "data:text/plain;base64,@@@"}}
    detail = assert_retab_error(
        client.post("/v1/classifications", json=body, headers=RETAB_HEADERS), 422
    )
    assert detail[0]["loc"] == ["body", "document", "url"]


def test_bad_list_parameters(client: TestClient[Any]) -> None:
    """Bad list parameters: Retab 422 for `order`/`limit`, 400 for dates; Extend 400."""
    for query, status in (("order=up", 422), ("limit=0", 422), ("from_date=2020-13-45", 400)):
        assert_retab_error(
            client.get(f"/v1/classifications?{query}", headers=RETAB_HEADERS), status
        )
    for query in ("sortDir=up", "maxPageSize=-1", "status=DONE"):
        assert_extend_error(
            client.get(f"/classify_runs?{query}", headers=EXTEND_HEADERS),
            400,
            "INVALID_REQUEST",
        )


def test_extend_version_header(client: TestClient[Any]) -> None:
    """A missing or other `x-extend-api-version` is a 400 (contracts.md §10 hazard 28)."""
    for version in (None, "2024-12-23"):
        headers = {"authorization": "Bearer key-a"} | (
            {"x-extend-api-version": version} if version else {}
        )
        body = assert_extend_error(
            client.get("/classify_runs", headers=headers), 400, "INVALID_REQUEST"
        )
        assert "x-extend-api-version" in body["message"]
