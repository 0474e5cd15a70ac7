"""The official Retab SDK's Files API against crosswalk's file store: the upload flow
(`files.create_upload`, a keyless PUT to its `uploadUrl`, `files.complete_upload`),
`files.list` with its filters and cursors, `files.get` and `files.get_download_link` (whose
link serves the bytes without a key); every refusal in Retab's error shapes; one store with
the Extend surface, scoped to the caller's key."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from extend_ai.errors import NotFoundError as ExtendNotFound
from litestar.testing import TestClient
from retab import Retab
from retab.exceptions import APIError, NotFoundError, ValidationError
from retab.types.files import CreateUploadResponse, File, FileLink
from retab.types.mime import FileRef, MIMEData

from contract_tests.fake_extend import BASE_URL as EXTEND_URL
from contract_tests.fake_extend import FakeExtend
from gateway.config import FilesConfig, ServerConfig
from tests.harness import (
    FIXTURES,
    GATEWAY_KEY,
    Gateway,
    MakeGateway,
    categories,
    classifications,
    free_port,
    local_settings,
    retab_error,
    running,
    vendor_backend,
    vendor_settings,
    wait_until,
    wire_json,
)
from tests.pdfs import make_pdf

PDF = make_pdf(["Invoice 2026-114", "Total due: 1,250.00 EUR"])
TEXT = (FIXTURES / "corpus" / "doc_001.txt").read_bytes()
PDF_TYPE = "application/pdf"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def local(url: str) -> str:
    """A URL the gateway made (for its configured public URL) as a path and query of this
    gateway: a client of it would dial the public URL."""
    return httpx.URL(url).raw_path.decode()


def upload(
    sdk: Retab,
    http: httpx.Client,
    name: str,
    data: bytes,
    *,
    content_type: str | None = None,
    checksum: bool = True,
) -> MIMEData:
    """The whole flow, as a client of Retab's API runs it: announce, PUT, complete."""
    digest = sha(data) if checksum else None
    started = sdk.files.create_upload(
        filename=name, size_bytes=len(data), content_type=content_type, sha256=digest
    )
    put = http.put(local(started.upload_url), content=data, headers=started.upload_headers)
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == f'"{sha(data)}"'
    completed = sdk.files.complete_upload(started.file_id, sha256=digest)
    assert isinstance(completed, MIMEData)
    assert (completed.filename, completed.url) == (name, reference(started.file_id))
    return completed


def reference(file_id: str) -> str:
    """Crosswalk's durable reference to a file, for the default public URL."""
    return f"http://127.0.0.1:8000/crosswalk/files/{file_id}"


def uploaded_id(sdk: Retab, http: httpx.Client, name: str, data: bytes = TEXT) -> str:
    """Upload `data` as `name`; the new file's id (the newest of the caller's files)."""
    upload(sdk, http, name, data)
    newest = sdk.files.list(limit=1).data[0]
    assert newest.filename == name
    return str(newest.id)


def files_dir(gateway: Gateway) -> list[str]:
    root = Path(gateway.settings.files_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Gateway:
    return make_gateway()


@pytest.fixture
def sdk(gateway: Gateway) -> Retab:
    return gateway.retab()


@pytest.fixture
def keyless(gateway: Gateway) -> httpx.Client:
    """What PUTs to an upload URL and fetches a download link: no key at all."""
    return gateway.http(None)


def test_a_pdf_and_a_text_file_go_through_the_upload_flow(
    sdk: Retab, keyless: httpx.Client
) -> None:
    """Announced, PUT and completed, each file is Retab's `File`, typed from its bytes; its
    download link serves those bytes with no key, and its `MIMEData` is its reference."""
    upload(sdk, keyless, "invoice.pdf", PDF, content_type="application/pdf")
    upload(sdk, keyless, "memo.txt", TEXT, checksum=False)
    memo, invoice = sdk.files.list().data
    assert isinstance(invoice, File)
    assert (invoice.filename, invoice.mime_type, invoice.page_count) == (
        "invoice.pdf",
        "application/pdf",
        None,
    )
    assert (memo.filename, memo.mime_type) == ("memo.txt", "text/plain")
    assert invoice.id.startswith("file_xw1-")
    assert sdk.files.get(invoice.id) == invoice
    link = sdk.files.get_download_link(invoice.id)
    assert isinstance(link, FileLink)
    assert (link.filename, link.expires_in) == ("invoice.pdf", "900s")
    assert link.mime_data is not None
    assert (link.mime_data.filename, link.mime_data.url) == ("invoice.pdf", reference(invoice.id))
    download = keyless.get(local(link.download_url))
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert keyless.get(local(link.mime_data.url)).status_code == 404  # it downloads nothing
    assert keyless.get(local(download_url_of(sdk, memo.id))).content == TEXT


def download_url_of(sdk: Retab, file_id: str) -> str:
    return str(sdk.files.get_download_link(file_id).download_url)


def test_a_file_ref_the_sdk_resolves_is_classified_as_that_file(
    sdk: Retab, keyless: httpx.Client
) -> None:
    """Retab's SDK turns a `FileRef` into `{filename, url: mime_data.url}` through the
    download link; crosswalk reads that reference as the file itself, so the run names it by
    its id, as Retab names a file of its own storage. `complete_upload`'s `MIMEData` is the
    same reference, and works as a document too."""
    completed = upload(sdk, keyless, "memo.txt", TEXT)
    (listed,) = sdk.files.list().data
    ref = FileRef(id=listed.id, filename="memo.txt", mime_type="text/plain")
    by_ref = sdk.classifications.create(document=ref, categories=categories())
    assert (by_ref.file.id, by_ref.file.filename) == (listed.id, "memo.txt")
    assert by_ref.output.category == "Invoice"
    by_mime = sdk.classifications.create(document=completed, categories=categories())
    assert by_mime.file.id == listed.id


def test_on_extend_a_file_ref_is_uploaded_once_and_named_by_its_own_id(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Behind an Extend backend (a fake on respx), two classifications of one FileRef make
    one upload to Extend; both runs name the file by crosswalk's id."""
    fake = FakeExtend()
    backend = vendor_backend("extend", EXTEND_URL, api_key_env="EXTEND_API_KEY")
    settings = vendor_settings(
        tmp_path,
        {"extend": backend},
        default="extend",
        api_keys=(GATEWAY_KEY,),
        upstream_keys={"extend": "sk-extend"},
    )
    gateway = make_gateway(settings, {"extend": fake.transport})
    sdk = gateway.retab(GATEWAY_KEY)
    upload(sdk, gateway.http(None), "invoice.pdf", PDF)
    assert fake.calls() == []  # the upload itself stays at crosswalk
    file_id = sdk.files.list().data[0].id
    ref = FileRef(id=file_id, filename="invoice.pdf", mime_type=PDF_TYPE)
    runs = [sdk.classifications.create(document=ref, categories=categories()) for _ in "ab"]
    assert [run.file.id for run in runs] == [file_id, file_id]
    (sent,) = fake.calls("POST", "/files/upload")
    assert sent.parts()["file"].data == PDF


def test_a_reference_outlives_every_link_but_names_the_file_to_its_owner_only(
    clocked: tuple[TestClient[Any], list[datetime]],
) -> None:
    """A day on, the download link is refused while the reference still classifies the
    file; another key giving it is told the file does not exist."""
    client, now = clocked
    sdk = retab_on(client)
    completed = upload(sdk, client, "memo.txt", TEXT)
    link = sdk.files.get_download_link(sdk.files.list().data[0].id).download_url
    now[0] += timedelta(days=1)
    assert client.get(local(link)).status_code == 403
    run = sdk.classifications.create(document=completed, categories=categories())
    assert run.output.category == "Invoice"
    with pytest.raises(NotFoundError):
        retab_on(client, "key-b").classifications.create(
            document=completed, categories=categories()
        )


def test_the_wire_shapes_are_retabs(sdk: Retab, gateway: Gateway) -> None:
    """The upload answer is camelCase, every other body snake_case, with exactly the keys of
    Retab's SDK models and examples/retab_files_download_link_response.json."""
    http = gateway.http()
    started = http.post("/v1/files/upload", json={"filename": "memo.txt", "size_bytes": 5})
    assert started.status_code == 200, started.text
    body = started.json()
    assert set(body) == {field.alias for field in CreateUploadResponse.model_fields.values()}
    assert (body["uploadMethod"], body["uploadHeaders"]) == ("PUT", {})
    assert body["mimeData"]["filename"] == "memo.txt"
    assert gateway.http(None).put(local(body["uploadUrl"]), content=b"hello").status_code == 200
    completed = http.post(f"/v1/files/upload/{body['fileId']}/complete", json={})
    assert set(completed.json()) == {"filename", "url"}
    got = http.get(f"/v1/files/{body['fileId']}").json()
    assert set(got) == set(File.model_fields)
    assert got["object"] == "file"
    link = http.get(f"/v1/files/{body['fileId']}/download-link").json()
    assert set(link) == set(wire_json("retab_files_download_link_response.json"))
    listed = http.get("/v1/files").json()
    assert listed == {"data": [got], "list_metadata": {"before": None, "after": None}}


def test_list_pages_both_ways_with_cursors_that_never_overlap(
    sdk: Retab, keyless: httpx.Client
) -> None:
    """`after` reads on, `before` reads back, `asc` and `desc` start at opposite ends, and
    the SDK's own paging walks every file once."""
    ids = [uploaded_id(sdk, keyless, f"doc-{n}.txt") for n in range(5)]
    newest_first = ids[::-1]
    first = sdk.files.list(limit=2)
    assert [f.id for f in first.data] == newest_first[:2]
    assert first.list_metadata.before is None
    assert first.list_metadata.after == newest_first[1]
    second = sdk.files.list(limit=2, after=first.list_metadata.after)
    assert [f.id for f in second.data] == newest_first[2:4]
    assert second.list_metadata.before == newest_first[2]
    back = sdk.files.list(limit=2, before=second.list_metadata.before)
    assert [f.id for f in back.data] == newest_first[:2]
    assert back.list_metadata.before is None
    assert back.list_metadata.after == newest_first[1]
    assert [f.id for f in sdk.files.list(limit=2).auto_paging_iter()] == newest_first
    oldest = sdk.files.list(limit=2, order="asc")
    assert [f.id for f in oldest.data] == ids[:2]
    last = sdk.files.list(limit=2, order="asc", after=ids[3])
    assert [f.id for f in last.data] == ids[4:]
    assert last.list_metadata.after is None


def retab_on(client: TestClient[Any], key: str = "key-a") -> Retab:
    """The Retab SDK on a running app's test client (for an app built with a clock)."""
    sdk = Retab(api_key=key, base_url=str(client.base_url), max_retries=0)
    sdk.client.close()
    sdk.client = client
    return sdk


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[TestClient[Any], list[datetime]]]:
    """A local gateway whose clock reads `now[0]`."""
    now = [T0]
    with running(local_settings(tmp_path), clock=lambda: now[0]) as client:
        yield client, now


def test_list_filters_by_exact_filename_and_by_day(
    clocked: tuple[TestClient[Any], list[datetime]],
) -> None:
    """`filename` matches a name exactly; `from_date` and `to_date` take whole days,
    inclusive, or ISO datetimes."""
    client, now = clocked
    sdk = retab_on(client)
    early = [uploaded_id(sdk, client, name) for name in ("memo.txt", "Memo.txt")]
    now[0] = T0 + timedelta(days=4)
    late = [uploaded_id(sdk, client, name) for name in ("memo.txt", "memo.txt.bak")]

    def listed(**filters: Any) -> list[str]:
        return [f.id for f in sdk.files.list(order="asc", **filters).data]

    assert listed(filename="memo.txt") == [early[0], late[0]]
    assert listed(from_date="2026-03-02") == late
    assert listed(to_date="2026-03-01") == early
    assert listed(from_date="2026-03-05", to_date="2026-03-05", filename="memo.txt") == late[:1]
    assert listed(from_date="2026-03-05T12:00:00Z") == late
    assert listed(to_date="2026-03-04") == early


@pytest.mark.parametrize(
    ("params", "status", "wording"),
    [
        ({"order": "sideways"}, 422, "order"),
        ({"limit": "0"}, 422, "limit"),
        ({"from_date": "2020-13-45"}, 400, "from_date"),
        ({"before": "file_xw1-" + "A" * 22, "after": "file_xw1-" + "B" * 22}, 400, "combined"),
        ({"after": "not-a-file"}, 400, "Unknown pagination cursor"),
        ({"mime_type": "application/pdf"}, 422, "mime_type"),
        ({"sort_by": "filename"}, 422, "sort_by"),
        ({"include_embeddings": "maybe"}, 422, "include_embeddings"),
    ],
)
def test_bad_list_parameters_are_refused_in_retabs_shapes(
    gateway: Gateway, params: dict[str, str], status: int, wording: str
) -> None:
    detail = retab_error(gateway.http().get("/v1/files", params=params), status)
    assert wording in str(detail)


def test_embeddings_asked_for_are_named_as_dropped(sdk: Retab, gateway: Gateway) -> None:
    """Crosswalk keeps no embeddings: `include_embeddings=true` is answered without them,
    and the translation header says so; the SDK's own `false` says nothing."""
    asked = gateway.http().get("/v1/files", params={"include_embeddings": "true"})
    assert asked.status_code == 200
    assert asked.headers["crosswalk-translation"] == "dropped=include_embeddings"
    default = gateway.http().get("/v1/files", params={"include_embeddings": "false"})
    assert "crosswalk-translation" not in default.headers
    assert sdk.files.list().data == []


@pytest.mark.parametrize(
    ("sent", "completed_with", "wording"),
    [
        (PDF[:-1], None, "bytes were uploaded, but"),
        (PDF, "0" * 64, "given to complete"),
    ],
)
def test_a_size_or_checksum_mismatch_is_a_422_and_keeps_nothing(
    sdk: Retab,
    gateway: Gateway,
    keyless: httpx.Client,
    sent: bytes,
    completed_with: str | None,
    wording: str,
) -> None:
    """The SDK's complete raises ValidationError naming the mismatch; no file is kept, and
    the right bytes can still be sent and completed."""
    started = sdk.files.create_upload(filename="invoice.pdf", size_bytes=len(PDF))
    assert keyless.put(local(started.upload_url), content=sent).status_code == 200
    with pytest.raises(ValidationError, match=wording) as refused:
        sdk.files.complete_upload(started.file_id, sha256=completed_with)
    assert refused.value.code == "UPLOAD_MISMATCH"
    assert sdk.files.list().data == []
    assert [p for p in files_dir(gateway) if p.endswith(".part")] == []
    assert keyless.put(local(started.upload_url), content=PDF).status_code == 200
    sdk.files.complete_upload(started.file_id)
    assert keyless.get(local(download_url_of(sdk, started.file_id))).content == PDF


def test_a_checksum_announced_is_checked_too(sdk: Retab, keyless: httpx.Client) -> None:
    started = sdk.files.create_upload(filename="a.txt", size_bytes=len(TEXT), sha256="A" * 64)
    keyless.put(local(started.upload_url), content=TEXT)
    with pytest.raises(ValidationError, match="announced"):
        sdk.files.complete_upload(started.file_id)


def test_an_upload_expires_on_the_apps_clock(
    clocked: tuple[TestClient[Any], list[datetime]],
) -> None:
    """Its URL stops working after the link TTL (403), and completing it is then a 410; a
    complete within the TTL after the bytes came still works."""
    client, now = clocked
    sdk = retab_on(client)
    stale = sdk.files.create_upload(filename="a.txt", size_bytes=len(TEXT))
    fresh = sdk.files.create_upload(filename="b.txt", size_bytes=len(TEXT))
    assert fresh.expires_at == T0 + timedelta(minutes=15)
    now[0] = T0 + timedelta(minutes=14)
    assert client.put(local(fresh.upload_url), content=TEXT).status_code == 200
    now[0] = T0 + timedelta(minutes=15)
    refused = client.put(local(stale.upload_url), content=TEXT)
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    with pytest.raises(APIError) as gone:
        sdk.files.complete_upload(stale.file_id)
    assert (gone.value.status_code, gone.value.code) == (410, "UPLOAD_EXPIRED")
    assert sdk.files.complete_upload(fresh.file_id).filename == "b.txt"


def test_unknown_ids_are_404s(sdk: Retab) -> None:
    for unknown in ("file_xw1-" + "A" * 22, "file_0123456789abcdef", "../crosswalk.db"):
        with pytest.raises(NotFoundError):
            sdk.files.get(unknown)
        with pytest.raises(NotFoundError):
            sdk.files.get_download_link(unknown)
        with pytest.raises(NotFoundError):
            sdk.files.complete_upload(unknown)


def test_more_bytes_than_announced_are_a_413_and_leave_nothing(
    sdk: Retab, gateway: Gateway, keyless: httpx.Client
) -> None:
    """A PUT past the announced size is refused, whether its length says so or its bytes run
    over; neither keeps a byte."""
    started = sdk.files.create_upload(filename="a.bin", size_bytes=10)
    url = local(started.upload_url)
    assert keyless.put(url, content=b"x" * 11).status_code == 413

    def over() -> Iterator[bytes]:
        yield b"x" * 6
        yield b"x" * 6

    cut = keyless.put(url, content=over())
    assert cut.status_code == 413
    assert cut.json()["code"] == "PAYLOAD_TOO_LARGE"
    session = [f".uploads/{started.file_id}.{suffix}" for suffix in ("json", "lock")]
    assert files_dir(gateway) == [".uploads", *session]
    with pytest.raises(ValidationError, match="No bytes"):
        sdk.files.complete_upload(started.file_id)


def test_an_announcement_past_the_limit_is_a_413_in_retabs_shape(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    small = make_gateway(local_settings(tmp_path, files=FilesConfig(max_bytes=1000)))
    body = {"filename": "big.bin", "size_bytes": 1001}
    response = small.http().post("/v1/files/upload", json=body)
    assert retab_error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"
    body["size_bytes"] = 1000
    assert small.http().post("/v1/files/upload", json=body).status_code == 200


def test_an_altered_upload_url_is_refused(sdk: Retab, keyless: httpx.Client) -> None:
    """Another id, another expiry or signature, or the file's download link's signature: all
    a 403, checked before the upload is looked up (unaltered, the URL of an upload already
    completed is a 404)."""
    started = sdk.files.create_upload(filename="a.txt", size_bytes=len(TEXT))
    other = sdk.files.create_upload(filename="b.txt", size_bytes=len(TEXT))
    url = httpx.URL(started.upload_url)
    assert keyless.put(local(started.upload_url), content=TEXT).status_code == 200
    sdk.files.complete_upload(started.file_id)
    download = httpx.URL(download_url_of(sdk, started.file_id)).params
    path, query = url.path, dict(url.params)
    altered = [
        (path.replace(started.file_id, other.file_id), query),
        (path, {**query, "expires": str(int(query["expires"]) + 60)}),
        (path, {**query, "signature": download["signature"]}),
        (path, {"expires": download["expires"], "signature": download["signature"]}),
        (path, {"expires": query["expires"]}),
    ]
    for changed_path, params in altered:
        refused = keyless.put(changed_path, params=params, content=TEXT)
        assert refused.status_code == 403, (changed_path, params)
    assert keyless.put(local(started.upload_url), content=TEXT).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filename": "a.txt"}, "size_bytes"),
        ({"filename": "a.txt", "size_bytes": -1}, "size_bytes"),
        ({"filename": " ", "size_bytes": 1}, "filename"),
        ({"filename": "a.txt", "size_bytes": 1, "sha256": "abc"}, "sha256"),
        ({"filename": "a.txt", "size_bytes": 1, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_announcement_is_a_422_naming_the_field(
    gateway: Gateway, body: dict[str, Any], field: str
) -> None:
    detail = retab_error(gateway.http().post("/v1/files/upload", json=body), 422)
    assert detail[0]["loc"][-1] == field


def test_only_the_key_that_announced_an_upload_completes_it(
    gateway: Gateway, keyless: httpx.Client
) -> None:
    alice, bob = gateway.retab("key-a"), gateway.retab("key-b")
    started = alice.files.create_upload(filename="a.txt", size_bytes=len(TEXT))
    keyless.put(local(started.upload_url), content=TEXT)
    with pytest.raises(NotFoundError):
        bob.files.complete_upload(started.file_id)
    assert bob.files.list().data == []
    completed = alice.files.complete_upload(started.file_id)
    assert alice.files.complete_upload(started.file_id) == completed  # a retry: the same file


def test_a_file_uploaded_through_extend_is_the_same_keys_on_retab(
    gateway: Gateway, keyless: httpx.Client
) -> None:
    """Key A's Extend upload is listed, read and linked by key A's Retab SDK; key B sees,
    reads and links none of it through either surface."""
    extend_a, retab_a, retab_b = (
        gateway.extend("key-a"),
        gateway.retab("key-a"),
        gateway.retab("key-b"),
    )
    uploaded = extend_a.files.upload(file=("invoice.pdf", PDF, "application/pdf"))
    (listed,) = retab_a.files.list().data
    assert (listed.id, listed.filename, listed.mime_type) == (uploaded.id, "invoice.pdf", PDF_TYPE)
    assert retab_a.files.get(uploaded.id) == listed
    link = retab_a.files.get_download_link(uploaded.id)
    assert keyless.get(local(link.download_url)).content == PDF
    assert retab_b.files.list().data == []
    with pytest.raises(NotFoundError):
        retab_b.files.get(uploaded.id)
    with pytest.raises(NotFoundError):
        retab_b.files.get_download_link(uploaded.id)
    with pytest.raises(NotFoundError):
        retab_b.files.complete_upload(uploaded.id)


def test_a_file_uploaded_through_retab_is_the_same_keys_on_extend(
    gateway: Gateway, keyless: httpx.Client
) -> None:
    """Key A's Retab upload is retrieved and downloaded by key A's Extend SDK; key B cannot
    see, read or delete it through either surface; once key A deletes it, it is gone."""
    retab_a, retab_b = gateway.retab("key-a"), gateway.retab("key-b")
    extend_a, extend_b = gateway.extend("key-a"), gateway.extend("key-b")
    file_id = uploaded_id(retab_a, keyless, "invoice.pdf", PDF)
    retrieved = extend_a.files.retrieve(file_id)
    assert (retrieved.name, retrieved.type) == ("invoice.pdf", "PDF")
    assert keyless.get(local(retrieved.presigned_url or "")).content == PDF
    for refused in (extend_b.files.retrieve, extend_b.files.delete, retab_b.files.get):
        with pytest.raises((ExtendNotFound, NotFoundError)):
            refused(file_id)
    assert extend_b.files.list().data == []
    assert retab_b.files.list().data == []
    assert extend_a.files.delete(file_id).id == file_id
    with pytest.raises(NotFoundError):
        retab_a.files.get(file_id)


def test_a_file_uploaded_with_one_sdk_is_classified_with_the_other(
    gateway: Gateway, keyless: httpx.Client
) -> None:
    """The issue's end-to-end promise, SDK to SDK for one key: a PDF uploaded through
    Extend's SDK is classified by Retab's SDK as a `FileRef`, and a file uploaded through
    Retab's upload flow is classified by Extend's SDK by its id; each run names the file."""
    extend_a, retab_a = gateway.extend("key-a"), gateway.retab("key-a")
    uploaded = extend_a.files.upload(file=("invoice.pdf", PDF, PDF_TYPE))
    ref = FileRef(id=uploaded.id, filename="invoice.pdf", mime_type=PDF_TYPE)
    by_retab = retab_a.classifications.create(document=ref, categories=categories())
    assert by_retab.output.category == "Invoice"
    assert by_retab.file.id == uploaded.id
    file_id = uploaded_id(retab_a, keyless, "doc_001.txt", TEXT)
    config = {"classifications": classifications()}
    by_extend = extend_a.classify(file={"id": file_id}, config=config)
    assert by_extend.status == "PROCESSED"
    assert by_extend.output is not None
    assert by_extend.output.id == "invoice"
    assert by_extend.file is not None
    assert by_extend.file.id == file_id
    with pytest.raises(ExtendNotFound):  # and still only for that key
        gateway.extend("key-b").classify(file={"id": file_id}, config=config)


def test_a_client_that_leaves_mid_put_leaves_no_bytes(make_gateway: MakeGateway) -> None:
    """Over a real socket: a PUT that sends part of its bytes and hangs up keeps nothing; the
    upload can then be sent again and completed."""
    gateway = make_gateway(served=True)
    sdk = gateway.retab()
    started = sdk.files.create_upload(filename="big.bin", size_bytes=10_000_000)
    url = httpx.URL(gateway.url)
    request = (
        f"PUT {local(started.upload_url)} HTTP/1.1\r\nHost: gateway\r\n"
        "Content-Length: 10000000\r\n\r\n"
    ).encode()
    with socket.create_connection((url.host, url.port or 80)) as client:
        client.sendall(request + b"x" * 2_000_000)
        wait_until(lambda: any(".upload-" in name for name in files_dir(gateway)))
    wait_until(lambda: not any(".upload-" in name for name in files_dir(gateway)))
    assert not any(name.endswith(".part") for name in files_dir(gateway))
    with pytest.raises(ValidationError, match="No bytes"):
        sdk.files.complete_upload(started.file_id)
    data = b"x" * 10_000_000
    assert gateway.http(None).put(local(started.upload_url), content=data).status_code == 200
    assert sdk.files.complete_upload(started.file_id).url.startswith("http://127.0.0.1:8000/")


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path) -> Gateway:
    """A served gateway whose links name its own address: the snippet dials them. Started
    before `capsys`, so no logging handler is bound to a stream that closes with the test."""
    port = free_port()
    public = ServerConfig(public_url=f"http://127.0.0.1:{port}")
    return make_gateway(local_settings(tmp_path, server=public), served=True, port=port)


def test_the_readme_retab_files_example_runs(
    served: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's Retab files snippet (its one ```python3 block) works as written but for the
    port, and prints what its comments say."""
    readme = (FIXTURES.parent / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python3\n(.*?)```", readme, re.DOTALL)
    names: dict[str, Any] = {}
    exec(compile(block.replace("http://127.0.0.1:8000", served.url), "README.md", "exec"), names)
    served.track(names["retab"].client)
    (listed,) = served.retab("any-key").files.list().data
    assert listed.filename == "memo.txt"
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["['memo.txt']", "True", "True invoice"]
