"""A 200 MB upload through `crosswalk serve`, a real process, streamed from a generator, through
each surface (Extend's multipart upload, Retab's announce, PUT and complete): the server's peak
memory grows by far less than the file (it is never held whole)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.served_process import ServerProcess
from tests.processes import PROC, needs_proc

UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = bytes(range(256)) * 4096  # 1 MiB, sent again and again: the client holds no more
GROWTH_LIMIT = 64 * 1024 * 1024
BOUNDARY = "crosswalk-memory-test"


def memory(pid: int) -> dict[str, int]:
    """The process's resident and peak resident memory, in bytes (/proc/<pid>/status)."""
    found = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def multipart_body(size: int, digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=file; filename=big.bin\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(size // len(CHUNK)):
        digest.update(CHUNK)
        yield CHUNK
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def extend_upload(client: httpx.Client, size: int) -> str:
    """Extend's multipart upload of `size` bytes; the new file's id."""
    digest = hashlib.sha256()
    head_and_tail = len(b"".join(part for part in multipart_body(0, digest)))
    response = client.post(
        "/files/upload",
        content=multipart_body(size, digest),
        headers={
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
            "content-length": str(head_and_tail + size),
        },
    )
    assert response.status_code == 200, response.text
    file_id: str = response.json()["id"]
    return file_id


def raw_body(size: int) -> Iterator[bytes]:
    for _ in range(size // len(CHUNK)):
        yield CHUNK


def retab_upload(client: httpx.Client, size: int) -> str:
    """Retab's flow for `size` bytes: announced, PUT to the upload URL, completed."""
    digest = hashlib.sha256()
    for chunk in raw_body(size):
        digest.update(chunk)
    announced = client.post(
        "/v1/files/upload",
        json={"filename": "big.bin", "size_bytes": size, "sha256": digest.hexdigest()},
    )
    assert announced.status_code == 200, announced.text
    url = httpx.URL(announced.json()["uploadUrl"])
    put = client.put(
        url.raw_path.decode(), content=raw_body(size), headers={"content-length": str(size)}
    )
    assert put.status_code == 200, put.text
    file_id: str = announced.json()["fileId"]
    completed = client.post(f"/v1/files/upload/{file_id}/complete", json={})
    assert completed.status_code == 200, completed.text
    return file_id


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f'[backends.local]\nkind = "local"\n[store]\nurl = "sqlite:///{tmp_path / "l.db"}"\n'
    )
    process = ServerProcess(config, log=tmp_path / "server.log").start()
    yield process
    process.stop()


@needs_proc
@pytest.mark.parametrize("upload", [extend_upload, retab_upload], ids=["extend", "retab"])
def test_a_200_mb_upload_grows_the_servers_memory_by_under_64_mb(
    server: ServerProcess, tmp_path: Path, upload: Callable[[httpx.Client, int], str]
) -> None:
    headers = {"authorization": "Bearer key-a", "x-extend-api-version": "2026-02-09"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        upload(client, len(CHUNK))  # warm: first-use allocations
        before = memory(server.pid)
        file_id = upload(client, UPLOAD_BYTES)
        after = memory(server.pid)
    stored = tmp_path / "l.db-files" / file_id
    assert stored.stat().st_size == UPLOAD_BYTES
    growth = after["VmHWM"] - before["VmHWM"]
    assert growth < GROWTH_LIMIT, f"peak RSS grew by {growth / 2**20:.1f} MiB"
