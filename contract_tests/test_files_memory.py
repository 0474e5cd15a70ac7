"""A 200 MB upload through `crosswalk serve`, a real process, streamed from a generator: the
server's peak memory grows by far less than the file (it is never held whole)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
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


def upload(client: httpx.Client, size: int) -> httpx.Response:
    digest = hashlib.sha256()
    head_and_tail = len(b"".join(part for part in multipart_body(0, digest)))
    return client.post(
        "/files/upload",
        content=multipart_body(size, digest),
        headers={
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
            "content-length": str(head_and_tail + size),
        },
    )


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
def test_a_200_mb_upload_grows_the_servers_memory_by_under_64_mb(
    server: ServerProcess, tmp_path: Path
) -> None:
    headers = {"authorization": "Bearer key-a", "x-extend-api-version": "2026-02-09"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        assert upload(client, len(CHUNK)).status_code == 200  # warm: first-use allocations
        before = memory(server.pid)
        response = upload(client, UPLOAD_BYTES)
        after = memory(server.pid)
    assert response.status_code == 200, response.text
    stored = tmp_path / "l.db-files" / response.json()["id"]
    assert stored.stat().st_size == UPLOAD_BYTES
    growth = after["VmHWM"] - before["VmHWM"]
    assert growth < GROWTH_LIMIT, f"peak RSS grew by {growth / 2**20:.1f} MiB"
