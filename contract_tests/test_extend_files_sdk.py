"""The official Extend SDK's Files API against crosswalk's file store: `files.upload`,
`files.retrieve` (and its keyless `presignedUrl`), `files.list` and `files.delete`, each
scoped to the caller's key, with every refusal in Extend's error envelope."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from extend_ai import Extend
from extend_ai.errors import BadRequestError, NotFoundError
from extend_ai.types import File

from gateway.config import FilesConfig
from mappings.extend.files import FileList
from tests.harness import (
    FIXTURES,
    Gateway,
    MakeGateway,
    extend_error,
    local_settings,
    running,
    wait_until,
    wire_json,
)
from tests.pdfs import make_pdf

PDF = make_pdf(["Invoice 2026-114", "Total due: 1,250.00 EUR"])
TEXT = (FIXTURES / "corpus" / "doc_001.txt").read_bytes()
VERSION = {"x-extend-api-version": "2026-02-09"}


def fetch(http: httpx.Client, url: str) -> httpx.Response:
    """A link the gateway made (for its configured public URL), fetched from this gateway
    with no key: only its path and query are used."""
    return http.get(httpx.URL(url).raw_path.decode())


def changed(text: str) -> str:
    """`text` with its last character replaced by another."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def files_dir(gateway: Gateway) -> list[str]:
    return sorted(p.name for p in Path(gateway.settings.files_dir).iterdir())


def test_upload_retrieve_download_and_delete_a_pdf_and_a_text_file(
    make_gateway: MakeGateway,
) -> None:
    """Both uploads come back as Extend `File`s typed from their content; retrieving one
    gives a `presignedUrl` that serves the same bytes with no key; a deleted file is gone
    from the API, from its link and from disk."""
    gateway = make_gateway()
    sdk = gateway.extend()
    pdf = sdk.files.upload(file=("invoice.pdf", PDF, "application/pdf"))
    text = sdk.files.upload(file=("memo.txt", TEXT, "text/plain"))
    assert isinstance(pdf, File)
    assert pdf.id.startswith("file_xw1-")
    assert (pdf.name, pdf.type, pdf.presigned_url) == ("invoice.pdf", "PDF", None)
    assert (text.name, text.type) == ("memo.txt", "TXT")
    retrieved = sdk.files.retrieve(pdf.id)
    assert (retrieved.id, retrieved.created_at) == (pdf.id, pdf.created_at)
    assert retrieved.presigned_url is not None
    download = fetch(gateway.http(None), retrieved.presigned_url)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["content-disposition"].startswith('attachment; filename="invoice.pdf"')
    assert sdk.files.delete(pdf.id).id == pdf.id
    with pytest.raises(NotFoundError):
        sdk.files.retrieve(pdf.id)
    with pytest.raises(NotFoundError):
        sdk.files.delete(pdf.id)
    assert fetch(gateway.http(None), retrieved.presigned_url).status_code == 404
    assert files_dir(gateway) == [text.id]


def test_the_wire_shapes_are_extends(make_gateway: MakeGateway) -> None:
    """Upload and retrieve answer with the keys of Extend's own examples
    (examples/extend_files_upload_response.json, extend_files_get_response.json)."""
    http = make_gateway().http()
    files = {"file": ("invoice.pdf", PDF, "application/pdf")}
    uploaded = http.post("/files/upload", files=files, headers=VERSION)
    assert uploaded.status_code == 200, uploaded.text
    example = wire_json("extend_files_upload_response.json")
    assert set(uploaded.json()) == set(example)
    assert uploaded.json()["metadata"] == {}  # pages are not counted at upload
    got = http.get(f"/files/{uploaded.json()['id']}", headers=VERSION)
    assert set(got.json()) == set(wire_json("extend_files_get_response.json")) | {"metadata"}


def test_a_presigned_url_expires_and_refuses_any_change(tmp_path: Path) -> None:
    """Fifteen minutes on the app's clock, the link stops working (403); an altered id,
    expiry or signature is refused at once, without saying whether the file exists."""
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    with running(local_settings(tmp_path), clock=lambda: now[0]) as client:
        sdk = Extend(token="key-a", base_url=str(client.base_url), httpx_client=client)
        uploaded = sdk.files.upload(file=("memo.txt", TEXT, "text/plain"))
        url = httpx.URL(sdk.files.retrieve(uploaded.id).presigned_url or "")
        path, query = url.raw_path.decode().split("?")[0], dict(url.params)
        assert client.get(url.raw_path.decode()).content == TEXT
        other_id, signature = changed(uploaded.id), changed(query["signature"])
        altered: list[tuple[str, dict[str, str]]] = [
            (path.replace(uploaded.id, other_id), query),
            (path, {**query, "expires": str(int(query["expires"]) + 60)}),
            (path, {**query, "signature": signature}),
            (path, {"expires": query["expires"]}),
        ]
        for changed_path, params in altered:
            refused = client.get(changed_path, params=params)
            assert refused.status_code == 403, (changed_path, params)
            assert refused.json()["code"] == "FORBIDDEN"
            assert uploaded.id not in refused.text
        now[0] += timedelta(minutes=15)
        expired = client.get(url.raw_path.decode())
        assert expired.status_code == 403
        assert "expired" in expired.json()["message"]


def test_list_pages_filter_by_name_and_sort_either_way(make_gateway: MakeGateway) -> None:
    """`maxPageSize` pages, `nextPageToken` reads on until it is null, `nameContains` is
    case-insensitive, and `sortDir=asc` gives the oldest first."""
    sdk = make_gateway().extend()
    names = ["Invoice-1.txt", "memo.txt", "invoice-2.txt", "INVOICE-3.txt", "letter.txt"]
    ids = {name: sdk.files.upload(file=(name, TEXT, "text/plain")).id for name in names}
    seen, token = [], None
    while True:
        page = sdk.files.list(name_contains="invoice", max_page_size=2, next_page_token=token)
        assert len(page.data) <= 2
        seen += [f.name for f in page.data]
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["INVOICE-3.txt", "invoice-2.txt", "Invoice-1.txt"]
    oldest = sdk.files.list(sort_dir="asc", max_page_size=2)
    assert [f.id for f in oldest.data] == [ids["Invoice-1.txt"], ids["memo.txt"]]
    everything = sdk.files.list()
    assert {f.id for f in everything.data} == set(ids.values())
    assert everything.next_page_token is None


def test_one_key_cannot_see_read_download_or_delete_anothers_file(
    make_gateway: MakeGateway,
) -> None:
    """Key B gets 404s for key A's file, lists none of it, and cannot forge its link."""
    gateway = make_gateway()
    alice, bob = gateway.extend("key-a"), gateway.extend("key-b")
    uploaded = alice.files.upload(file=("secret.pdf", PDF, "application/pdf"))
    with pytest.raises(NotFoundError):
        bob.files.retrieve(uploaded.id)
    with pytest.raises(NotFoundError):
        bob.files.delete(uploaded.id)
    assert bob.files.list().data == []
    forged = gateway.http("key-b").get(
        f"/crosswalk/files/{uploaded.id}/content", params={"expires": "9999999999"}
    )
    assert forged.status_code == 403
    assert alice.files.retrieve(uploaded.id).id == uploaded.id  # still there, still A's


def test_an_upload_past_the_limit_is_a_413_in_extends_envelope_and_leaves_nothing(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A file one byte past `[files] max_bytes` is refused as it streams in; a body far past
    it is refused on its Content-Length before any of it is read; neither leaves a file."""
    gateway = make_gateway(local_settings(tmp_path, files=FilesConfig(max_bytes=1000)))
    http = gateway.http()
    for size in (1001, 10_000_000):
        files = {"file": ("big.bin", b"x" * size, "application/octet-stream")}
        response = http.post("/files/upload", files=files, headers=VERSION)
        body = extend_error(response, 413)
        assert body["code"] == "INVALID_REQUEST"
        assert files_dir(gateway) == []
    exact = {"file": ("ok.bin", b"x" * 1000, "application/octet-stream")}
    assert http.post("/files/upload", files=exact, headers=VERSION).status_code == 200


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"content": b"plain", "headers": {"content-type": "text/plain"}}, "multipart"),
        ({"files": {"password": (None, b"pw")}}, "file: Field required"),
        ({"files": [("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))]}, "only one file"),
        (
            {"content": b"--xx\r\nContent-Disposition: form-data; name=file\r\n\r\nabc"},
            "incomplete",
        ),
        ({"files": {"file": ("a.txt", b"a")}, "params": {"convertToPdf": "maybe"}}, "convertToPdf"),
    ],
)
def test_a_bad_upload_is_a_400_naming_what_is_wrong(
    make_gateway: MakeGateway, request_args: dict[str, Any], message: str
) -> None:
    gateway = make_gateway()
    headers = {**VERSION, **request_args.pop("headers", {})}
    if "content" in request_args and "content-type" not in headers:
        headers["content-type"] = "multipart/form-data; boundary=xx"
    response = gateway.http().post("/files/upload", headers=headers, **request_args)
    assert message in extend_error(response, 400)["message"]
    assert files_dir(gateway) == []


def test_convert_to_pdf_is_accepted_and_named_as_dropped(make_gateway: MakeGateway) -> None:
    """Crosswalk keeps files as they came: `convertToPdf=true` is answered, and the
    translation header says it was not done."""
    response = (
        make_gateway()
        .http()
        .post(
            "/files/upload",
            params={"convertToPdf": "true"},
            files={"file": ("memo.txt", TEXT, "text/plain")},
            headers=VERSION,
        )
    )
    assert response.status_code == 200
    assert response.headers["crosswalk-translation"] == "dropped=convertToPdf"


def test_list_parameters_are_checked(make_gateway: MakeGateway) -> None:
    sdk = make_gateway().extend()
    with pytest.raises(BadRequestError):
        sdk.files.list(max_page_size=0)
    with pytest.raises(BadRequestError):
        sdk.files.list(next_page_token="not-a-file-id")


def test_a_list_page_decodes_as_extends(make_gateway: MakeGateway) -> None:
    """The raw page is Extend's list envelope, `nextPageToken` null on the last page."""
    gateway = make_gateway()
    gateway.extend().files.upload(file=("memo.txt", TEXT, "text/plain"))
    body = gateway.http().get("/files", headers=VERSION).json()
    assert set(body) == {"object", "data", "nextPageToken"}
    assert body["object"] == "list"
    assert body["nextPageToken"] is None
    assert FileList.__struct_fields__ == ("object", "data", "next_page_token")


def test_a_client_that_leaves_mid_upload_leaves_no_file(make_gateway: MakeGateway) -> None:
    """Over a real socket: a client that sends part of a large upload and hangs up leaves
    no temp file behind, and the gateway carries on."""
    gateway = make_gateway(served=True)
    url = httpx.URL(gateway.url)
    head = b"--xx\r\nContent-Disposition: form-data; name=file; filename=big.bin\r\n\r\n"
    request = (
        b"POST /files/upload HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer key-a\r\n"
        b"x-extend-api-version: 2026-02-09\r\n"
        b"Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: 10000000\r\n\r\n"
    )
    with socket.create_connection((url.host, url.port or 80)) as client:
        client.sendall(request + head + b"x" * 2_000_000)
        wait_until(lambda: any(name.startswith(".upload-") for name in files_dir(gateway)))
    wait_until(lambda: files_dir(gateway) == [])
    assert gateway.extend().files.list().data == []


def test_the_readme_files_example_runs(make_gateway: MakeGateway) -> None:
    """README's Extend files snippet (its one ```py block) works against a served gateway."""
    gateway = make_gateway(served=True)
    readme = (FIXTURES.parent / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```py\n(.*?)```", readme, re.DOTALL)
    names: dict[str, Any] = {}
    exec(compile(block.replace("http://127.0.0.1:8000", gateway.url), "README.md", "exec"), names)
    gateway.track(names["extend"]._client_wrapper.httpx_client.httpx_client)
    assert names["extend"].files.list().data == []  # it deleted what it uploaded


def test_asking_for_parsed_contents_is_named_as_dropped(make_gateway: MakeGateway) -> None:
    """The deprecated `rawText`/`markdown`/`html` flags are answered without contents, and
    the translation header says so."""
    gateway = make_gateway()
    uploaded = gateway.extend().files.upload(file=("memo.txt", TEXT, "text/plain"))
    response = gateway.http().get(
        f"/files/{uploaded.id}", params={"rawText": "true", "html": "false"}, headers=VERSION
    )
    assert response.status_code == 200
    assert "contents" not in response.json()
    assert response.headers["crosswalk-translation"] == "dropped=rawText"
