"""`GET /schema` is an OpenAPI 3.1 document that matches the wire (design.md §8): every
operation of both surfaces and crosswalk's own, driven against a running gateway, answers
only statuses its operation documents, each with a body valid against the documented schema;
and `/schema/docs` is a docs page that loads nothing from elsewhere."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.routes import HTTPRoute
from openapi_spec_validator import validate

from gateway.app import create_app
from gateway.config import FilesConfig, LocalBackendConfig, Secret, ServerConfig, Settings
from gateway.openapi import openapi_document
from gateway.webhooks.signing import signed_headers
from mappings import extend
from tests.batch_support import CLASSIFIER, saved_classifiers
from tests.harness import (
    GATEWAY_KEY,
    SLOW_RUN_SECONDS,
    URLS,
    MakeGateway,
    categories,
    classifications,
    local_settings,
    mocked,
    mocked_vendors_settings,
    text_file,
    wire,
)
from tests.openapi_support import DocumentedClient

KEY = "key-a"
EXTEND_HEADERS = {extend.VERSION_HEADER: extend.API_VERSION}
RUN = "/v1/classifications/{classification_id}"
EXTEND_RUN = "/classify_runs/{run_id}"


def documented(
    make_gateway: MakeGateway, tmp_path: Path, settings: Settings | None = None, **local: Any
) -> DocumentedClient:
    """A gateway (by default local, `local` its backend's options, with a saved classifier),
    and a client checking every answer against the document that gateway serves."""
    settings = settings or local_settings(
        tmp_path, LocalBackendConfig(**local), classifiers=saved_classifiers()
    )
    http = make_gateway(settings).http(KEY)
    document = http.get("/schema").json()
    return DocumentedClient(http, document)


@pytest.fixture
def api(make_gateway: MakeGateway, tmp_path: Path) -> DocumentedClient:
    """A client of a local gateway, checking every answer against its document."""
    return documented(make_gateway, tmp_path)


def test_the_document_is_valid_openapi_3_1(api: DocumentedClient) -> None:
    """The served document passes the OpenAPI 3.1 validator, at both of its paths."""
    validate(api.document)
    assert api.document["openapi"] == "3.1.0"
    assert api.http.get("/schema/openapi.json").json() == api.document


def test_each_vendor_names_its_own_wire_types() -> None:
    """Same-named types of the two vendors are two components, each with its own fields, and
    Retab's error body is the union FastAPI answers (object, string or validation list)."""
    schemas = openapi_document()["components"]["schemas"]
    assert "filename" in schemas["RetabFile"]["properties"]
    assert "presignedUrl" in schemas["ExtendFile"]["properties"]
    assert "RetabUsage" in schemas  # not "RetabRetabUsage"
    detail = schemas["RetabErrorBody"]["properties"]["detail"]["anyOf"]
    assert {"object", "string", "array"} <= {d.get("type", "object") for d in detail}


def test_every_served_route_is_documented_and_every_documented_one_served(
    tmp_path: Path,
) -> None:
    """The document's operations are exactly the app's routes (OPTIONS and HEAD aside)."""
    app = create_app(local_settings(tmp_path))
    served = {
        (route.path_format, method.lower())
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods - {"OPTIONS", "HEAD"}
    }
    paths = openapi_document()["paths"]
    assert {(path, method) for path, item in paths.items() for method in item} == served


def test_the_docs_page_loads_nothing_from_elsewhere(api: DocumentedClient) -> None:
    """`/schema/docs` is HTML naming no external URL, reading this server's document, and
    its Content-Security-Policy lets the browser load nothing from anywhere else."""
    page = api.call("get", "/schema/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "/schema/openapi.json" in page.text
    assert "http:" not in page.text
    assert "https:" not in page.text
    assert "//" not in page.text.replace("://", "")  # no protocol-relative URL either
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy


def _retab_body(**extra: Any) -> dict[str, Any]:
    data = base64.b64encode(b"Invoice 42: amount due, payment terms, total.").decode()
    document = {"filename": "a.txt", "url": f"data:text/plain;base64,{data}"}
    return {"document": document, "categories": categories(), **extra}


def test_retab_surface_answers_as_documented(api: DocumentedClient) -> None:
    """Each Retab operation, valid and with its documented refusals: statuses documented,
    bodies valid against the documented schemas (delete: 204 and no body)."""
    run = api.call("post", "/v1/classifications", json=_retab_body()).json()
    once = {"idempotency-key": "openapi-1"}
    first = api.call("post", "/v1/classifications", json=_retab_body(), headers=once)
    replayed = api.call("post", "/v1/classifications", json=_retab_body(), headers=once)
    assert replayed.json() == first.json()
    other = api.call("post", "/v1/classifications", json=_retab_body(model="x"), headers=once)
    assert other.status_code == 422
    one = {"classification_id": run["id"]}
    api.call("get", RUN, path=one)
    api.call("get", RUN, path=one, params={"include_output": "false"})
    api.call("get", "/v1/classifications", params={"limit": "5", "order": "asc"})
    api.call("post", RUN + "/cancel", path=one)
    assert api.call("delete", RUN, path=one).status_code == 204
    refusals = [
        (api.call("get", RUN, path=one), 404),
        (api.call("post", "/v1/classifications", json=_retab_body(colour="red")), 422),
        (
            api.call(
                "post", "/v1/classifications", json=_retab_body(), headers={"authorization": ""}
            ),
            401,
        ),
        (api.call("get", RUN, path=one, params={"include_output": "maybe"}), 422),
        (api.call("get", "/v1/classifications", params={"limit": "0"}), 422),
        (api.call("get", "/v1/classifications", params={"before": "a", "after": "b"}), 400),
        (api.call("post", RUN + "/cancel", path={"classification_id": "cls_nope"}), 404),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]
    _retab_files(api)
    assert api.succeeded() >= api.operations("retab")


def _retab_files(api: DocumentedClient) -> None:
    """The upload flow, the file's reads, its bytes by its link, and their refusals."""
    content = b"Invoice 7: total due."
    upload = {"filename": "b.txt", "size_bytes": len(content)}
    announced = api.call("post", "/v1/files/upload", json=upload).json()
    put = httpx.URL(announced["uploadUrl"])
    file_id = {"file_id": announced["fileId"]}
    api.call(
        "put", "/crosswalk/uploads/{file_id}", path=file_id, params=put.params, content=content
    )
    api.call("post", "/v1/files/upload/{file_id}/complete", path=file_id, json={})
    api.call("get", "/v1/files", params={"limit": "10"})
    api.call("get", "/v1/files/{file_id}", path=file_id)
    link = api.call("get", "/v1/files/{file_id}/download-link", path=file_id).json()
    params = httpx.URL(link["download_url"]).params
    got = api.call("get", "/crosswalk/files/{file_id}/content", path=file_id, params=params)
    assert got.content == content
    refusals = [
        (api.call("get", "/v1/files/{file_id}", path={"file_id": "file_nope"}), 404),
        (api.call("get", "/v1/files", params={"sort_by": "filename"}), 422),
        (api.call("post", "/v1/files/upload", json={"filename": "c.txt"}), 422),
        (
            api.call(
                "get",
                "/crosswalk/files/{file_id}/content",
                path=file_id,
                params={"expires": "1", "signature": "x"},
            ),
            403,
        ),
        (
            api.call(
                "put",
                "/crosswalk/uploads/{file_id}",
                path=file_id,
                params={"expires": "1", "signature": "x"},
                content=b"x",
            ),
            403,
        ),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]


def _extend_body(**extra: Any) -> dict[str, Any]:
    return {
        "file": text_file("doc_001.txt"),
        "config": {"classifications": classifications()},
        **extra,
    }


def test_extend_surface_answers_as_documented(api: DocumentedClient) -> None:
    """Each Extend operation, valid and with its documented refusals: statuses documented,
    bodies valid against the documented schemas, in Extend's error envelope."""
    unversioned = api.call("get", "/classify_runs")
    assert unversioned.status_code == 400  # the documented header is required
    api.http.headers.update(EXTEND_HEADERS)
    finished = api.call("post", "/classify", json=_extend_body()).json()
    one = {"run_id": finished["id"]}
    api.call("post", "/classify_runs", json=_extend_body(priority=5))
    api.call("get", EXTEND_RUN, path=one)
    api.call("get", "/classify_runs", params={"maxPageSize": "5", "sortDir": "asc"})
    assert api.call("post", EXTEND_RUN + "/cancel", path=one).status_code == 400  # finished
    api.call("delete", EXTEND_RUN, path=one)
    missing = {"classifier": {"id": "cl_nope"}, "file": text_file("doc_001.txt")}
    refusals = [
        (api.call("get", EXTEND_RUN, path=one), 404),
        (api.call("post", "/classify_runs", json=_extend_body(colour="red")), 400),
        (api.call("post", "/classify_runs", json=missing), 404),
        (api.call("post", "/classify", json=_extend_body(), headers={"authorization": ""}), 401),
        (api.call("get", "/classify_runs", headers={extend.VERSION_HEADER: "2024-01-01"}), 400),
        (api.call("get", "/classify_runs", params={"sortBy": "updatedAt"}), 422),
        (api.call("get", "/classify_runs", params={"maxPageSize": "0"}), 400),
        (api.call("delete", EXTEND_RUN, path={"run_id": "clr_nope"}), 404),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]
    _extend_resources(api)
    assert api.succeeded() >= api.operations("extend") - {"extend_cancel_classify_run"}


def _extend_resources(api: DocumentedClient) -> None:
    """Files, saved classifiers and batches, and their refusals."""
    upload = {"file": ("b.txt", b"Invoice 7: total due.", "text/plain")}
    file_id = {"file_id": api.call("post", "/files/upload", files=upload).json()["id"]}
    api.call("get", "/files", params={"maxPageSize": "10"})
    api.call("get", "/files/{file_id}", path=file_id)
    api.call("delete", "/files/{file_id}", path=file_id)
    api.call("get", "/classifiers")
    api.call("get", "/classifiers/{classifier_id}", path={"classifier_id": CLASSIFIER})
    inputs = [{"file": text_file("doc_002.txt")}]
    batch = {"classifier": {"id": CLASSIFIER}, "inputs": inputs}
    batch_id = api.call("post", "/classify_runs/batch", json=batch).json()["id"]
    api.call("get", "/batch_runs/{batch_id}", path={"batch_id": batch_id})
    refusals = [
        (api.call("get", "/files/{file_id}", path=file_id), 404),
        (api.call("delete", "/files/{file_id}", path=file_id), 404),
        (api.call("post", "/files/upload", files={"password": (None, b"pw")}), 400),
        (api.call("get", "/classifiers/{classifier_id}", path={"classifier_id": "cl_nope"}), 404),
        (api.call("get", "/classifiers", params={"sortBy": "name"}), 400),
        (api.call("post", "/classify_runs/batch", json={**batch, "config": {}}), 400),
        (api.call("get", "/batch_runs/{batch_id}", path={"batch_id": "bpr_nope"}), 404),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]


def test_extend_cancel_answers_as_documented(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """A run still processing is cancelled: 200 and a ClassifyRun (a finished one's 400 is
    checked with the other refusals)."""
    api = documented(make_gateway, tmp_path, min_run_seconds=SLOW_RUN_SECONDS)
    api.http.headers.update(EXTEND_HEADERS)
    one = {"run_id": api.call("post", "/classify_runs", json=_extend_body()).json()["id"]}
    cancelled = api.call("post", EXTEND_RUN + "/cancel", path=one)
    assert cancelled.json()["status"] in ("CANCELLING", "CANCELLED")


def test_crosswalk_endpoints_answer_as_documented(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """crosswalk's own endpoints, valid and refused, in crosswalk's own error shape."""
    secret = "wss_openapi"
    settings = local_settings(tmp_path, vendor_webhook_secrets={"extend": Secret(secret)})
    api = documented(make_gateway, tmp_path, settings)
    for path in ("/schema", "/schema/openapi.json", "/schema/docs", "/healthz", "/metrics"):
        api.call("get", path)
    assert api.call("get", "/readyz").json()["status"] == "ready"
    api.call("get", "/crosswalk/comparisons", params={"limit": "5"})
    assert api.call("get", "/crosswalk/report").headers["content-type"].startswith("text/html")
    event = wire("extend_webhook_classify_run_processed.json")
    signed = signed_headers(secret, int(time.time()), event)
    api.call("post", "/crosswalk/webhooks/extend", content=event, headers=signed)
    unreadable = signed_headers(secret, int(time.time()), b"[]")
    refusals = [
        (api.call("get", "/crosswalk/comparisons", params={"limit": "0"}), 400),
        (api.call("get", "/crosswalk/comparisons", headers={"authorization": ""}), 401),
        (api.call("get", "/crosswalk/report", params={"colour": "red"}), 400),
        (api.call("post", "/crosswalk/webhooks/extend", content=event), 401),
        (api.call("post", "/crosswalk/webhooks/extend", content=b"{}", headers=signed), 401),
        (api.call("post", "/crosswalk/webhooks/extend", content=b"[]", headers=unreadable), 400),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]
    assert api.succeeded() >= api.operations("crosswalk") - {
        "crosswalk_file_content",  # both driven with Retab's files
        "crosswalk_upload_content",
    }


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        pytest.param(httpx.Response(500, text="<html>down</html>"), 502, id="vendor-500"),
        pytest.param(httpx.ConnectError("refused"), 502, id="connect-error"),
        pytest.param(httpx.ReadTimeout("slow"), 504, id="read-timeout"),
    ],
)
def test_a_failing_vendor_answers_as_documented(
    make_gateway: MakeGateway, tmp_path: Path, failure: Any, status: int
) -> None:
    """Each surface's create, served by the other vendor failing: the documented 502 or 504,
    in the caller's error envelope."""
    routers = {
        vendor: respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
        for vendor in ("retab", "extend")
    }
    routers["extend"].post("/classify").mock(side_effect=[failure])
    routers["retab"].post("/v1/classifications").mock(side_effect=[failure])
    settings = mocked_vendors_settings(
        tmp_path, routers, default="extend", surface_backends={"retab": "extend", "extend": "retab"}
    )
    gateway = make_gateway(settings, mocked(routers))
    api = DocumentedClient(gateway.http(GATEWAY_KEY), openapi_document())
    retab_answer = api.call("post", "/v1/classifications", json=_retab_body())
    extend_answer = api.call("post", "/classify_runs", json=_extend_body(), headers=EXTEND_HEADERS)
    assert (retab_answer.status_code, extend_answer.status_code) == (status, status)


def test_bodies_past_the_limits_answer_as_documented(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A body larger than `[server] max_body_bytes` (an upload's: `[files] max_bytes`, or
    what was announced) is the documented 413, in each surface's envelope."""
    settings = local_settings(
        tmp_path, server=ServerConfig(max_body_bytes=2048), files=FilesConfig(max_bytes=1024)
    )
    api = documented(make_gateway, tmp_path, settings)
    api.http.headers.update(EXTEND_HEADERS)
    big = {"padding": "x" * 4096}
    huge = {"file": ("big.txt", b"x" * (1024 + 128 * 1024), "text/plain")}
    announced = api.call("post", "/v1/files/upload", json={"filename": "a.txt", "size_bytes": 4})
    put = {"file_id": announced.json()["fileId"]}
    params = httpx.URL(announced.json()["uploadUrl"]).params
    answers = [
        api.call("post", "/v1/classifications", json=big),
        api.call("post", "/v1/files/upload", json=big),
        api.call("post", "/classify", json=big),
        api.call("post", "/classify_runs", json=big),
        api.call("post", "/classify_runs/batch", json=big),
        api.call("post", "/files/upload", files=huge),
        api.call("put", "/crosswalk/uploads/{file_id}", path=put, params=params, content=b"x" * 8),
    ]
    assert [answer.status_code for answer in answers] == [413] * len(answers)
