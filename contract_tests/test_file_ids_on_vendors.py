"""A file kept by crosswalk, classified by its id on a vendor backend (fakes of the vendors'
APIs on respx): uploaded once to Extend and named there by Extend's id, or handed to Retab as
a data URL (or a signed link, when Retab can reach the gateway). Either way the client reads
its runs back under crosswalk's file id, never the vendor's."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.fake_extend import BASE_URL as EXTEND_URL
from contract_tests.fake_extend import FakeExtend, wire
from contract_tests.fake_retab import BASE_URL as RETAB_URL
from contract_tests.fake_retab import FakeRetab
from gateway.config import ServerConfig
from tests.harness import (
    GATEWAY_KEY,
    Gateway,
    MakeGateway,
    categories,
    classifications,
    extend_error,
    vendor_backend,
    vendor_settings,
    wait_until,
)
from tests.pdfs import make_pdf

PDF = make_pdf(["Invoice 2026-114", "Amount due: 1,250.00 EUR"])
VERSION = {"x-extend-api-version": "2026-02-09"}
CONFIG = {"classifications": classifications()}
OTHER_KEY = "gw-key-2"
TRANSLATION = "crosswalk-translation"


def _on(
    make_gateway: MakeGateway,
    tmp_path: Path,
    kind: str,
    fake: FakeExtend | FakeRetab,
    **settings: Any,
) -> Gateway:
    """A gateway whose only backend is the fake `kind` vendor, holding its own key."""
    url = EXTEND_URL if kind == "extend" else RETAB_URL
    built = vendor_settings(
        tmp_path,
        {kind: vendor_backend(kind, url, api_key_env="VENDOR_KEY")},
        default=kind,
        api_keys=(GATEWAY_KEY, OTHER_KEY),
        upstream_keys={kind: f"sk-{kind}"},
        **settings,
    )
    return make_gateway(built, {kind: fake.transport})


@pytest.fixture
def extend_fake() -> FakeExtend:
    return FakeExtend(gets_before_processed=1)


@pytest.fixture
def retab_fake() -> FakeRetab:
    return FakeRetab(gets_to_complete=1)


def test_extend_gets_the_file_once_then_its_id(
    make_gateway: MakeGateway, tmp_path: Path, extend_fake: FakeExtend
) -> None:
    """`classify`, `classify_runs.create` and a Retab FileRef of one uploaded file make
    exactly one upload to Extend, its bytes streamed from the store with the upload's
    password; each create names Extend's id, and each run reads back under crosswalk's."""
    gateway = _on(make_gateway, tmp_path, "extend", extend_fake)
    sdk = gateway.extend(GATEWAY_KEY)
    uploaded = sdk.files.upload(file=("invoice.pdf", PDF, "application/pdf"), password="s3cret")
    assert extend_fake.calls() == []  # the upload itself stays at crosswalk
    run = sdk.classify(file={"id": uploaded.id}, config=CONFIG)
    assert run.output is not None
    assert run.output.id == "invoice"
    created = sdk.classify_runs.create(file={"id": uploaded.id}, config=CONFIG)
    ref = {"id": uploaded.id, "filename": "invoice.pdf", "mime_type": "application/pdf"}
    body = {"document": ref, "categories": categories()}
    retab_run = gateway.http(GATEWAY_KEY).post("/v1/classifications", json=body)
    assert retab_run.status_code == 201, retab_run.text
    (upload,) = extend_fake.calls("POST", "/files/upload")
    parts = upload.parts()
    assert (parts["file"].filename, parts["file"].data) == ("invoice.pdf", PDF)
    assert parts["password"].data == b"s3cret"
    extend_id = upload.json_answer()["id"]
    assert not extend_id.startswith("file_xw")
    creates = extend_fake.calls("POST", "/classify") + extend_fake.calls("POST", "/classify_runs")
    assert [c.json()["file"] for c in creates] == [{"id": extend_id}] * 3
    assert run.file is not None
    assert run.file.id == uploaded.id
    assert retab_run.json()["file"]["id"] == uploaded.id
    wait_until(lambda: sdk.classify_runs.retrieve(created.id).status == "PROCESSED")
    read = sdk.classify_runs.retrieve(created.id)
    assert read.file is not None
    assert (read.file.id, read.file.name) == (uploaded.id, "invoice.pdf")
    assert extend_fake.calls("GET", f"/classify_runs/{created.id}")  # read from Extend
    assert {r.file.id for r in sdk.classify_runs.list().data if r.file} == {uploaded.id}


def test_another_keys_file_never_reaches_extend(
    make_gateway: MakeGateway, tmp_path: Path, extend_fake: FakeExtend
) -> None:
    """Another key's file id is Extend's 404 naming it, and nothing is sent upstream."""
    gateway = _on(make_gateway, tmp_path, "extend", extend_fake)
    uploaded = gateway.extend(GATEWAY_KEY).files.upload(file=("a.pdf", PDF, "application/pdf"))
    answer = gateway.http(OTHER_KEY).post(
        "/classify_runs", json={"file": {"id": uploaded.id}, "config": CONFIG}, headers=VERSION
    )
    assert extend_error(answer, 404)["message"] == f"File {uploaded.id} not found."
    assert extend_fake.calls() == []


def test_an_extend_file_id_is_still_relayed(
    make_gateway: MakeGateway, tmp_path: Path, extend_fake: FakeExtend
) -> None:
    """An id without crosswalk's marker is Extend's own: the create is relayed as sent."""
    gateway = _on(make_gateway, tmp_path, "extend", extend_fake)
    held = wire("extend_files_upload_response.json")  # a file Extend itself holds
    extend_fake.files[held["id"]] = held
    extend_id = held["id"]
    body = {"file": {"id": extend_id}, "config": CONFIG}
    again = gateway.http(GATEWAY_KEY).post("/classify", json=body, headers=VERSION)
    assert again.status_code == 200, again.text
    assert extend_fake.last("POST", "/classify").json() == body
    assert again.json()["file"]["id"] == extend_id


def test_retab_gets_the_bytes_as_a_data_url_behind_a_loopback_public_url(
    make_gateway: MakeGateway, tmp_path: Path, retab_fake: FakeRetab
) -> None:
    """With the default public_url (loopback) Retab could not fetch a link: the file's own
    bytes go as a data URL, the header says so, and the run names crosswalk's file, also when
    read again (through the Retab surface: not relayed, for Retab knows another id)."""
    gateway = _on(make_gateway, tmp_path, "retab", retab_fake)
    uploaded = gateway.extend(GATEWAY_KEY).files.upload(file=("a.pdf", PDF, "application/pdf"))
    http = gateway.http(GATEWAY_KEY)
    answer = http.post(
        "/classify", json={"file": {"id": uploaded.id}, "config": CONFIG}, headers=VERSION
    )
    assert answer.status_code == 200, answer.text
    assert "document.url:data_url" in answer.headers[TRANSLATION]
    assert answer.json()["file"]["id"] == uploaded.id
    document = retab_fake.last("POST").json()["document"]
    header, _, payload = document["url"].partition(",")
    assert (document["filename"], header) == ("a.pdf", "data:application/pdf;base64")
    assert base64.b64decode(payload) == PDF
    ref = {"id": uploaded.id, "filename": "mine.pdf", "mime_type": "application/pdf"}
    created = http.post("/v1/classifications", json={"document": ref, "categories": categories()})
    assert created.status_code == 201, created.text
    assert created.json()["file"]["id"] == uploaded.id
    assert retab_fake.last("POST").json()["document"]["filename"] == "mine.pdf"
    again = gateway.retab(GATEWAY_KEY).classifications.get(created.json()["id"])
    assert again.file.id == uploaded.id
    assert retab_fake.calls("GET")  # read from Retab, then put in the client's terms


def test_retab_gets_a_signed_link_it_can_fetch_behind_a_public_url(
    make_gateway: MakeGateway, tmp_path: Path, retab_fake: FakeRetab
) -> None:
    """With an https public_url on a public host, Retab gets a signed, expiring link to the
    file instead of its bytes; fetched with no key, it serves exactly the uploaded bytes."""
    public = ServerConfig(public_url="https://crosswalk.example.com")
    gateway = _on(make_gateway, tmp_path, "retab", retab_fake, server=public)
    uploaded = gateway.extend(GATEWAY_KEY).files.upload(file=("a.pdf", PDF, "application/pdf"))
    answer = gateway.http(GATEWAY_KEY).post(
        "/classify", json={"file": {"id": uploaded.id}, "config": CONFIG}, headers=VERSION
    )
    assert answer.status_code == 200, answer.text
    assert "document.url:signed_link" in answer.headers[TRANSLATION]
    url = httpx.URL(retab_fake.last("POST").json()["document"]["url"])
    assert (url.scheme, url.host) == ("https", "crosswalk.example.com")
    assert url.path == f"/crosswalk/files/{uploaded.id}/content"
    assert {"expires", "signature"} <= set(url.params)
    fetched = gateway.http(None).get(url.raw_path.decode())  # only its path: no network
    assert fetched.content == PDF


def test_retab_cannot_open_a_file_uploaded_with_a_password(
    make_gateway: MakeGateway, tmp_path: Path, retab_fake: FakeRetab
) -> None:
    """An encrypted PDF has no Retab equivalent (hazard 10): a 422 naming `file.id`."""
    gateway = _on(make_gateway, tmp_path, "retab", retab_fake)
    sdk = gateway.extend(GATEWAY_KEY)
    uploaded = sdk.files.upload(file=("a.pdf", PDF, "application/pdf"), password="s3cret")
    answer = gateway.http(GATEWAY_KEY).post(
        "/classify", json={"file": {"id": uploaded.id}, "config": CONFIG}, headers=VERSION
    )
    assert extend_error(answer, 422)["message"].startswith("file.id: Retab cannot open")
    assert retab_fake.calls() == []


class _RacingUploads(httpx.AsyncBaseTransport):
    """The fake's transport, but each upload is held until `racers` are in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, racers: int) -> None:
        self._inner = inner
        self._racers = racers
        self._arrived = 0
        self._all_in = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/files/upload":
            self._arrived += 1
            if self._arrived == self._racers:
                self._all_in.set()
            async with asyncio.timeout(10):
                await self._all_in.wait()
        return await self._inner.handle_async_request(request)


def test_first_uses_at_once_may_both_upload_but_all_runs_name_the_first_copy(
    make_gateway: MakeGateway, tmp_path: Path, extend_fake: FakeExtend
) -> None:
    """Two first uses of a file at the same moment both upload it (neither copy is known
    yet); the copy recorded first is the file's, and both runs, and every later one, name it."""
    settings = vendor_settings(
        tmp_path,
        {"extend": vendor_backend("extend", EXTEND_URL, api_key_env="VENDOR_KEY")},
        default="extend",
        api_keys=(GATEWAY_KEY,),
        upstream_keys={"extend": "sk-extend"},
    )
    gateway = make_gateway(settings, {"extend": _RacingUploads(extend_fake.transport, 2)})
    sdk = gateway.extend(GATEWAY_KEY)
    uploaded = sdk.files.upload(file=("a.pdf", PDF, "application/pdf"))
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: sdk.classify(file={"id": uploaded.id}, config=CONFIG), "ab"))
    assert all(run.file is not None and run.file.id == uploaded.id for run in runs)
    assert len(extend_fake.calls("POST", "/files/upload")) == 2
    named = {c.json()["file"]["id"] for c in extend_fake.calls("POST", "/classify")}
    assert len(named) == 1
    sdk.classify(file={"id": uploaded.id}, config=CONFIG)
    assert len(extend_fake.calls("POST", "/files/upload")) == 2
    assert extend_fake.last("POST", "/classify").json()["file"] == {"id": named.pop()}


def test_a_run_with_a_password_of_its_own_never_spoils_the_files_copy(
    make_gateway: MakeGateway, tmp_path: Path, extend_fake: FakeExtend
) -> None:
    """A run naming the file by its signed link with a password of its own gets a copy of
    its own at Extend, with that password, never remembered: a wrong password once does not
    become the file's copy for every run after it."""
    gateway = _on(make_gateway, tmp_path, "extend", extend_fake)
    sdk = gateway.extend(GATEWAY_KEY)
    uploaded = sdk.files.upload(file=("invoice.pdf", PDF, "application/pdf"))
    link = sdk.files.retrieve(uploaded.id).presigned_url
    assert link is not None
    for password in ("WRONG", "RIGHT"):
        file = {"url": link, "settings": {"password": password}}
        sdk.classify(file=file, config=CONFIG)
    for _ in "ab":  # by id: the file's own copy, uploaded once
        sdk.classify(file={"id": uploaded.id}, config=CONFIG)
    uploads = extend_fake.calls("POST", "/files/upload")
    sent = [u.parts()["password"].data if "password" in u.parts() else None for u in uploads]
    assert sent == [b"WRONG", b"RIGHT", None]
    ids = [u.json_answer()["id"] for u in uploads]
    creates = [c.json()["file"] for c in extend_fake.calls("POST", "/classify")]
    assert creates == [{"id": ids[0]}, {"id": ids[1]}, {"id": ids[2]}, {"id": ids[2]}]
