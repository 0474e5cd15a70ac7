"""`[files] storage = "database"` through the gateway: two replicas on one ledger (SQLite's,
or one PostgreSQL), each with a directory of its own, share every file (upload on one;
retrieve, download, classify and delete on the other) and every step of Retab's announced
uploads; a vendor backend is sent a file's bytes from the ledger; and a 50 MB upload and
download never hold the file whole."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from gateway.config import FilesConfig, Secret
from tests.harness import URLS, Gateway, MakeGateway, local_settings, wire_json
from tests.stores import KINDS, Kind, Store

EXTEND = {"x-extend-api-version": "2026-02-09"}
BOUNDARY = "xw-test-boundary"
FORM = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
MIB = 1024 * 1024


def form(name: str, content: Iterator[bytes]) -> Iterator[bytes]:
    """A multipart body with one `file` part, sent as `content` yields it."""
    yield (
        f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="{name}"\r\n'
        "content-type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from content
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def chunk_rows(store: Store) -> list[tuple[str, int]]:
    return sorted((key, n) for key, n in store.execute("SELECT file_id, n FROM file_chunks"))


Replicas = tuple[Gateway, Gateway, Store]


@pytest.fixture(params=KINDS)
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Replicas:
    """Two gateways on one ledger (a SQLite file, or one PostgreSQL), each with a files
    directory of its own, and one link secret (as `[files] secret_env` gives them)."""
    kind: Kind = request.param
    if kind == "sqlite":
        location, store = str(tmp_path / "crosswalk.db"), {}
    else:
        location = request.getfixturevalue("postgres_url")
        store = {"store_url": location}
    # asked for after the database, so the gateways stop before it is dropped
    make_gateway: MakeGateway = request.getfixturevalue("make_gateway")

    def replica(directory: str) -> Gateway:
        files = FilesConfig(storage="database", dir=str(tmp_path / directory))
        secret = Secret("a link secret every replica is given")
        return make_gateway(local_settings(tmp_path, files=files, files_secret=secret, **store))

    return replica("files-1"), replica("files-2"), Store(kind, location)


def test_two_replicas_without_a_shared_path_share_every_file(
    replicas: Replicas, tmp_path: Path
) -> None:
    """Uploaded through replica 1, the file is retrieved, downloaded through its signed link,
    classified by the local backend (a file past the size read in process, which the
    extractor process would otherwise read from disk) and deleted through replica 2; its
    chunks go with it, and no replica's directory ever held its bytes."""
    one, two, store = replicas
    data = b"Invoice number 42, total due: 120 EUR.\n" * 8000  # 320 kB of text
    uploaded = one.http().post(
        "/files/upload", content=form("invoice.txt", iter([data])), headers=EXTEND | FORM
    )
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    http = two.http()
    retrieved = http.get(f"/files/{file_id}", headers=EXTEND)
    assert retrieved.status_code == 200, retrieved.text
    downloaded = two.http(None).get(retrieved.json()["presignedUrl"])
    assert downloaded.status_code == 200
    assert downloaded.content == data
    config = {"classifications": [{"id": "inv", "type": "invoice", "description": "A bill"}]}
    run = http.post("/classify", json={"file": {"id": file_id}, "config": config}, headers=EXTEND)
    assert run.status_code == 200, run.text
    assert run.json()["status"] == "PROCESSED", run.text
    assert run.json()["output"]["type"] == "invoice"
    assert [key for key, _ in chunk_rows(store)] == [file_id]
    assert http.delete(f"/files/{file_id}", headers=EXTEND).status_code == 200
    assert chunk_rows(store) == []
    assert one.http().get(f"/files/{file_id}", headers=EXTEND).status_code == 404
    for directory in ("files-1", "files-2"):
        assert [p.name for p in (tmp_path / directory).iterdir()] == []


def test_an_announced_upload_may_reach_a_replica_at_each_step(
    replicas: Replicas, tmp_path: Path
) -> None:
    """Retab's three steps, each through another replica with a directory of its own:
    announced on 1, PUT to 2, completed on 1, downloaded through 2."""
    one, two, store = replicas
    data = os.urandom(MIB + 11)
    announce = {"filename": "scan.bin", "size_bytes": len(data)}
    announced = one.http().post("/v1/files/upload", json=announce)
    assert announced.status_code == 200, announced.text
    file_id, url = announced.json()["fileId"], httpx.URL(announced.json()["uploadUrl"])
    put = two.http(None).put(url.raw_path.decode(), content=data)
    assert put.status_code in (200, 204), put.text
    completed = one.http().post(f"/v1/files/upload/{file_id}/complete", json={})
    assert completed.status_code == 200, completed.text
    link = two.http().get(f"/v1/files/{file_id}/download-link")
    assert link.status_code == 200, link.text
    downloaded = two.http(None).get(httpx.URL(link.json()["download_url"]).raw_path.decode())
    assert downloaded.content == data
    assert [key for key, _ in chunk_rows(store)] == [file_id] * 2
    for directory in ("files-1", "files-2"):
        assert list((tmp_path / directory).rglob("*")) == []


def test_a_50_mb_upload_and_download_never_hold_the_file_whole(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Over real HTTP, the client sending and reading a MiB at a time: the most this process
    (client and gateway together) ever holds is a few MiB, not the 50 MB file."""
    files = FilesConfig(storage="database", max_bytes=64 * MIB)
    gateway = make_gateway(local_settings(tmp_path, files=files), served=True)
    http = gateway.http()
    block = os.urandom(MIB)
    size, digest = 50 * MIB, hashlib.sha256(block * 50).hexdigest()
    tracemalloc.start()
    try:
        uploaded = http.post(
            "/files/upload", content=form("big.bin", iter([block] * 50)), headers=EXTEND | FORM
        )
        assert uploaded.status_code == 200, uploaded.text
        link = http.get(f"/files/{uploaded.json()['id']}", headers=EXTEND).json()["presignedUrl"]
        received, hashed = 0, hashlib.sha256()
        # the link names the default public URL, not this gateway's port
        with http.stream("GET", httpx.URL(link).raw_path.decode()) as response:
            assert response.status_code == 200
            for piece in response.iter_bytes(MIB):
                received += len(piece)
                hashed.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (received, hashed.hexdigest()) == (size, digest)
    assert len(chunk_rows(Store("sqlite", str(tmp_path / "crosswalk.db")))) == 50
    assert not (tmp_path / "crosswalk.db-files").exists()  # no [files] dir: none is made
    assert peak < 16 * MIB, f"{peak / MIB:.1f} MiB held at once"


def test_an_extend_backend_is_sent_the_files_bytes_from_the_ledger(
    make_gateway: MakeGateway,
) -> None:
    """A stored file classified through Extend (whose servers cannot reach this gateway's
    links) is uploaded to Extend's Files API with the bytes the ledger keeps."""
    extend = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    vendor_upload = extend.post("/files/upload").respond(
        200, json=wire_json("extend_files_upload_response.json")
    )
    run = wire_json("extend_classify_response.json")
    extend.post("/classify").respond(200, json=run)
    files = FilesConfig(storage="database")
    client = make_gateway.mocked_client({"extend": extend}, default="extend", files=files)
    headers = EXTEND | {"authorization": "Bearer gw-key"}
    data = os.urandom(MIB + 3)
    body = b"".join(form("scan.bin", iter([data])))
    uploaded = client.post("/files/upload", content=body, headers=headers | FORM)
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    document = {"id": file_id, "filename": "scan.bin", "mime_type": "application/octet-stream"}
    classify = {"document": document, "categories": [{"name": run["output"]["type"]}]}
    response = client.post("/v1/classifications", json=classify, headers=headers)
    assert response.status_code == 201, response.text
    assert data in vendor_upload.calls.last.request.content
