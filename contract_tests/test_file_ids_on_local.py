"""A file kept by crosswalk, classified by its id or its signed link on the local backend:
Extend `file: {id}` and `file: {url}`, Retab FileRef `{id, filename, mime_type}` and the
`{filename, url}` Retab's SDK sends for a FileRef it resolved. The bytes are read from the
store on disk, never fetched, and only the key that uploaded a file can classify it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from extend_ai import Extend
from extend_ai.errors import NotFoundError
from retab import MIMEData

from gateway.backends.local.extract import CHARS_PER_PAGE
from gateway.backends.local.runner import INLINE_MAX_BYTES
from gateway.config import LocalBackendConfig
from gateway.files.store import FileStore
from gateway.store.base import owner_of
from tests.harness import (
    FIXTURES,
    InProcessGateway,
    MakeGateway,
    categories,
    classifications,
    extend_error,
    local_settings,
    retab_error,
    wait_until,
)
from tests.pdfs import make_pdf

PDF = make_pdf(["Invoice 2026-114", "Amount due: 1,250.00 EUR, payable within 30 days"])
TEXT = (FIXTURES / "corpus" / "doc_001.txt").read_bytes()  # an invoice
VERSION = {"x-extend-api-version": "2026-02-09"}
CONFIG = {"classifications": classifications()}


def _uploaded(sdk: Extend) -> tuple[str, str]:
    """A PDF and a text file uploaded through Extend's Files API: their ids."""
    pdf = sdk.files.upload(file=("invoice.pdf", PDF, "application/pdf"))
    text = sdk.files.upload(file=("memo.txt", TEXT, "text/plain"))
    return pdf.id, text.id


def _retab_upload(gateway: InProcessGateway, key: str, name: str, data: bytes) -> str:
    """A file put in the gateway's store as `key`'s, as Retab's upload flow keeps it (the
    Retab surface's Files API shares this one store)."""
    store: FileStore = gateway.client.app.state.files

    async def upload() -> str:
        async def chunks() -> Any:
            yield data

        return (await store.upload(owner_of(key), chunks(), name=name)).id

    portal = gateway.client.blocking_portal
    return portal.call(upload)


def test_extend_classify_and_classify_runs_read_uploaded_files(make_gateway: MakeGateway) -> None:
    """`classify` on an uploaded PDF and `classify_runs.create` on an uploaded text file both
    finish on the local backend; each run names the file by crosswalk's id, and the PDF's page
    count is now known to the Files API."""
    gateway = make_gateway()
    sdk = gateway.extend()
    pdf_id, text_id = _uploaded(sdk)
    run = sdk.classify(file={"id": pdf_id}, config=CONFIG)
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == "invoice"
    assert run.file is not None
    assert (run.file.id, run.file.name, run.file.type) == (pdf_id, "invoice.pdf", "PDF")
    assert sdk.files.retrieve(pdf_id).metadata.page_count == 2
    created = sdk.classify_runs.create(file={"id": text_id}, config=CONFIG)
    wait_until(lambda: sdk.classify_runs.retrieve(created.id).status == "PROCESSED")
    done = sdk.classify_runs.retrieve(created.id)
    assert done.output is not None
    assert done.output.id == "invoice"
    assert done.file is not None
    assert (done.file.id, done.file.name) == (text_id, "memo.txt")
    listed = sdk.classify_runs.list()
    assert [r.file.id for r in listed.data if r.file is not None] == [text_id, pdf_id]


def test_a_retab_file_ref_reads_the_same_store(make_gateway: MakeGateway) -> None:
    """A FileRef `{id, filename, mime_type}` naming a file uploaded through the Extend surface
    classifies it for the same key; the classification's `file` is that FileRef."""
    gateway = make_gateway()
    pdf_id, _ = _uploaded(gateway.extend())
    document = {"id": pdf_id, "filename": "invoice.pdf", "mime_type": "application/pdf"}
    body = {"document": document, "categories": categories()}
    response = gateway.http().post("/v1/classifications", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["file"] == document
    assert response.json()["output"]["category"] == "Invoice"
    (run,) = gateway.retab().classifications.list().data
    assert run.file.id == pdf_id


def test_a_file_uploaded_for_retab_is_classified_through_extend(make_gateway: MakeGateway) -> None:
    """The other way round: a file the Retab side kept for a key is an Extend `file.id`."""
    gateway = make_gateway()
    assert isinstance(gateway, InProcessGateway)
    file_id = _retab_upload(gateway, "key-a", "doc_001.txt", TEXT)
    run = gateway.extend("key-a").classify(file={"id": file_id}, config=CONFIG)
    assert run.output is not None
    assert run.output.id == "invoice"
    assert run.file is not None
    assert (run.file.id, run.file.name) == (file_id, "doc_001.txt")


def test_crosswalks_own_links_are_read_from_the_store_not_fetched(
    make_gateway: MakeGateway,
) -> None:
    """A `presignedUrl` points at the loopback `public_url` (127.0.0.1:8000, where nothing
    listens), which the local backend's SSRF guard refuses to fetch; as a Retab `{filename,
    url}` (what Retab's SDK sends for a resolved FileRef) and as an Extend `file.url`, it is
    read from the store instead."""
    gateway = make_gateway()
    local = gateway.settings.backends["local"]
    assert isinstance(local, LocalBackendConfig)
    assert not local.allow_private_urls
    sdk = gateway.extend()
    pdf_id, _ = _uploaded(sdk)
    link = sdk.files.retrieve(pdf_id).presigned_url
    assert link is not None
    assert link.startswith("http://127.0.0.1:8000/crosswalk/files/")
    created = gateway.retab().classifications.create(
        document=MIMEData(filename="invoice.pdf", url=link), categories=categories()
    )
    assert created.output.category == "Invoice"
    assert created.file.id == pdf_id
    run = sdk.classify(file={"url": link, "name": "again.pdf"}, config=CONFIG)
    assert run.file is not None
    assert (run.file.id, run.file.name) == (pdf_id, "again.pdf")


def test_a_link_that_is_not_valid_is_an_ordinary_url(make_gateway: MakeGateway) -> None:
    """A link with an altered signature is no file of crosswalk's: a loopback URL the local
    backend refuses to fetch (Extend), and a plain-http URL Retab takes no more than its SDK
    does (422)."""
    gateway = make_gateway()
    sdk = gateway.extend()
    pdf_id, _ = _uploaded(sdk)
    link = sdk.files.retrieve(pdf_id).presigned_url or ""
    forged = link[:-1] + ("A" if link[-1] != "A" else "B")
    refused = gateway.http().post(
        "/classify", json={"file": {"url": forged}, "config": CONFIG}, headers=VERSION
    )
    assert "refused" in extend_error(refused, 400)["message"]
    body = {"document": {"filename": "invoice.pdf", "url": forged}, "categories": categories()}
    detail = retab_error(gateway.http().post("/v1/classifications", json=body), 422)
    assert detail[0]["loc"] == ["body", "document", "url"]


def test_another_keys_file_is_not_found_on_both_surfaces(make_gateway: MakeGateway) -> None:
    """Key B naming key A's file, by id or by A's valid link, gets each surface's 404 naming
    the id, and no run is made; key A still classifies it."""
    gateway = make_gateway()
    alice = gateway.extend("key-a")
    pdf_id, _ = _uploaded(alice)
    link = alice.files.retrieve(pdf_id).presigned_url
    bob = gateway.http("key-b")
    for file in ({"id": pdf_id}, {"url": link}):
        answer = bob.post("/classify", json={"file": file, "config": CONFIG}, headers=VERSION)
        body = extend_error(answer, 404)
        assert (body["code"], body["message"]) == ("NOT_FOUND", f"File {pdf_id} not found.")
    documents = [
        {"id": pdf_id, "filename": "x.pdf", "mime_type": "application/pdf"},
        {"filename": "x.pdf", "url": link},
    ]
    for document in documents:
        answer = bob.post("/v1/classifications", json={"document": document, "categories": []})
        assert answer.status_code == 422  # the body is judged first: no categories
        answer = bob.post(
            "/v1/classifications", json={"document": document, "categories": categories()}
        )
        assert retab_error(answer, 404) == f"File {pdf_id} not found."
    with pytest.raises(NotFoundError):
        gateway.extend("key-b").classify(file={"id": pdf_id}, config=CONFIG)
    assert gateway.extend("key-b").classify_runs.list().data == []
    assert alice.classify(file={"id": pdf_id}, config=CONFIG).status == "PROCESSED"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/classify", {"file": {"id": "file_xQ4nT8vB2mK6pR9sW3yZ7c"}, "config": CONFIG}, "file"),
        (
            "/v1/classifications",
            {
                "document": {"id": "file_3c0a9f1e77b2d564", "filename": "a.jpg", "mime_type": "x"},
                "categories": categories(),
            },
            "document",
        ),
    ],
)
def test_a_vendors_file_id_on_local_is_a_422_naming_it(
    make_gateway: MakeGateway, path: str, body: dict[str, Any], field: str
) -> None:
    """A vendor's own file id names nothing the local backend holds (hazard 13): a 422 in
    the caller's dialect naming the field and the id."""
    response = make_gateway().http().post(path, json=body, headers=VERSION)
    reason = f"{body[field]['id']} is not a file of this gateway"
    if field == "file":
        assert extend_error(response, 422)["message"].startswith(f"file.id: {reason}")
    else:
        (problem,) = retab_error(response, 422)
        assert problem["loc"] == ["body", "document", "id"]
        assert problem["msg"].startswith(reason)


def test_a_malformed_crosswalk_id_is_not_found(make_gateway: MakeGateway) -> None:
    """An id with crosswalk's marker but not its shape names no file: a 404, never a vendor's."""
    response = (
        make_gateway()
        .http()
        .post(
            "/classify", json={"file": {"id": "file_xw1-short"}, "config": CONFIG}, headers=VERSION
        )
    )
    assert extend_error(response, 404)["message"] == "File file_xw1-short not found."


def test_a_file_deleted_before_its_queued_run_is_read_fails_the_run(tmp_path: Path) -> None:
    """A background run whose file is deleted before a worker reads it fails, saying so: the
    first gateway has no workers, so the run waits queued until the second one starts."""
    with InProcessGateway(local_settings(tmp_path, LocalBackendConfig(concurrency=0))) as first:
        sdk = first.extend()
        _, text_id = _uploaded(sdk)
        created = sdk.classify_runs.create(file={"id": text_id}, config=CONFIG)
        sdk.files.delete(text_id)
    with InProcessGateway(local_settings(tmp_path)) as second:
        sdk = second.extend()
        wait_until(lambda: sdk.classify_runs.retrieve(created.id).status == "FAILED")
        failed = sdk.classify_runs.retrieve(created.id)
        assert failed.failure_reason == "FAILED_TO_PROCESS_FILE"
        assert f"File {text_id} no longer exists." in (failed.failure_message or "")


def test_a_large_stored_file_is_read_by_the_extraction_pool(make_gateway: MakeGateway) -> None:
    """A file past the inline-read threshold is handed to the extraction pool by its path
    in the store, which reads it there: it still classifies, its pages counted."""
    gateway = make_gateway()
    sdk = gateway.extend()
    large = TEXT * (200_000 // len(TEXT) + 1)
    assert len(large) > INLINE_MAX_BYTES
    uploaded = sdk.files.upload(file=("ledger.txt", large, "text/plain"))
    run = sdk.classify(file={"id": uploaded.id}, config=CONFIG)
    assert run.output is not None
    assert run.output.id == "invoice"
    assert sdk.files.retrieve(uploaded.id).metadata.page_count == math.ceil(
        len(large) / CHARS_PER_PAGE
    )
