"""Documents are read in extractor processes that can be stopped (gateway/backends/local/pool.py).

A PDF that reads too long is killed at the deadline and its run fails as an invalid document
while the API keeps answering; an extractor whose caller gives up, or that dies, is replaced;
cheap documents start no process; and no extractor outlives its app.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.backends.local.extract import UndecodableDocument
from gateway.backends.local.extract_process import Job
from gateway.backends.local.pool import ExtractionPool, ExtractorDied, extraction_pool
from gateway.config import ConfigError, LocalBackendConfig, resolve
from tests.document_server import serving
from tests.harness import (
    MakeGateway,
    categories,
    classifications,
    local_settings,
    retab_error,
    running,
    wait_until,
)
from tests.pdfs import make_pdf, make_shared_stream_pdf
from tests.processes import extractor_pids, gone, needs_proc

pytestmark = needs_proc
# 40 pages that each parse one 20,000-line stream: ~30 s of pypdf on a 2026 laptop core, so
# any deadline of a few seconds stops it long before it could finish, on any machine
SLOW_PDF = make_shared_stream_pdf(pages=40, lines=20_000)
AUTH = {"authorization": "Bearer key-a"}
EXTEND_VERSION = "2026-02-09"
TEXT = (b"Invoice total due", "text/plain")


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def retab_create(data: bytes, mime: str = "application/pdf", **fields: object) -> dict[str, object]:
    document = {"filename": "doc.pdf", "url": data_url(data, mime)}
    return {"document": document, "categories": categories(), **fields}


def test_a_slow_pdf_is_stopped_at_its_deadline_while_the_api_answers(
    make_gateway: MakeGateway,
) -> None:
    """A list is answered while the PDF is being read; at the deadline its extractor is killed
    and reaped, and the create is the usual invalid-document error naming the limit."""
    gateway = make_gateway(extract_timeout=2.0, extract_workers=1)
    creator, lister = gateway.http(), gateway.http()
    with ThreadPoolExecutor(1) as background:
        create = background.submit(creator.post, "/v1/classifications", json=retab_create(SLOW_PDF))
        wait_until(lambda: len(extractor_pids()) == 1)
        (pid,) = extractor_pids()
        assert lister.get("/v1/classifications").status_code == 200
        # answered before the extraction ended: its process is still there, still reading
        assert not create.done()
        assert not gone(pid)
        response = create.result(timeout=60)
    detail = retab_error(response, 400)
    assert detail["code"] == "INVALID_DOCUMENT"
    assert "longer than 2 s (extract_timeout)" in detail["message"]
    assert gone(pid)


def test_a_background_run_past_the_deadline_fails_as_an_invalid_document(
    make_gateway: MakeGateway,
) -> None:
    """A queued run whose document reads too long fails visibly, saying why, and the worker
    goes on to the next run."""
    gateway = make_gateway(extract_timeout=0.5, allow_private_urls=True)
    http = gateway.http()
    http.headers["x-extend-api-version"] = EXTEND_VERSION
    with serving({"/slow.pdf": (SLOW_PDF, "application/pdf")}) as base:
        body = {
            "file": {"url": f"{base}/slow.pdf", "name": "slow.pdf"},
            "config": {"classifications": classifications()},
        }
        created = http.post("/classify_runs", json=body)
        assert created.status_code == 200, created.text
        run_id = created.json()["id"]
        wait_until(lambda: http.get(f"/classify_runs/{run_id}").json()["status"] == "FAILED")
    run = http.get(f"/classify_runs/{run_id}").json()
    assert run["failureMessage"].startswith("INVALID_DOCUMENT: ")
    assert "longer than 0.5 s (extract_timeout)" in run["failureMessage"]
    after = http.post("/classify_runs", json={**body, "file": {"text": "Invoice total due"}})
    run_id = after.json()["id"]
    wait_until(lambda: http.get(f"/classify_runs/{run_id}").json()["status"] == "PROCESSED")


def test_extractors_start_when_needed_and_stop_with_the_app(tmp_path: Path) -> None:
    """Text and small JSON are read without a process; the first PDF starts one, which is
    reused; when the app stops it is killed and reaped."""
    with running(local_settings(tmp_path)) as client:
        for data, mime in (
            (b"Invoice total due", "text/plain"),
            (b'{"total": 3}', "application/json"),
        ):
            created = client.post(
                "/v1/classifications", json=retab_create(data, mime), headers=AUTH
            )
            assert created.status_code == 201, created.text
        assert extractor_pids() == set()
        for text in ("Invoice total due", "Purchase order"):
            pdf = retab_create(make_pdf([text]))
            assert client.post("/v1/classifications", json=pdf, headers=AUTH).status_code == 201
        pids = extractor_pids()
        assert len(pids) == 1
    assert all(gone(pid) for pid in pids)
    assert extractor_pids() == set()


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait, without blocking the event loop, until `predicate` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def job(data: bytes, deadline: float = 60.0) -> Job:
    return Job(data=data, mime_type="application/pdf", filename="a.pdf", deadline=deadline)


async def one_pid(pool: ExtractionPool) -> int:
    await until(lambda: len(pool.pids) == 1)
    (pid,) = pool.pids
    return pid


async def test_an_extraction_whose_caller_gives_up_is_killed() -> None:
    """Cancelling a job (a client gone, a sync timeout) kills its process; the next job gets
    a new one."""
    async with extraction_pool(1) as pool:
        reading = asyncio.create_task(pool.extract(job(SLOW_PDF)))
        pid = await one_pid(pool)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        await until(lambda: gone(pid))
        assert (await pool.extract(job(make_pdf(["Receipt"])))).text == "Receipt"
        assert len(pool.pids) == 1
        assert pid not in pool.pids


async def test_an_extractor_that_dies_fails_its_document_and_is_replaced() -> None:
    """A process killed while reading (say, for its memory) fails that document as
    undecodable, saying how it ended; the next document is read by a new process."""
    async with extraction_pool(1) as pool:
        reading = asyncio.create_task(pool.extract(job(SLOW_PDF)))
        pid = await one_pid(pool)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ExtractorDied, match="signal 9"):
            await reading
        assert gone(pid)
        assert (await pool.extract(job(make_pdf(["Receipt"])))).text == "Receipt"


async def test_refusals_come_back_from_the_extractor() -> None:
    """What the extractor cannot read is an UndecodableDocument here too, and the process is
    kept for the next document."""
    async with extraction_pool(1) as pool:
        with pytest.raises(UndecodableDocument, match="no text layer"):
            await pool.extract(job(make_pdf([""])))
        pid = await one_pid(pool)
        assert (await pool.extract(job(make_pdf(["Receipt"])))).text == "Receipt"
        assert pool.pids == {pid}


@pytest.mark.parametrize("key", ["extract_workers", "max_pages", "extract_timeout"])
def test_extraction_limits_must_be_positive(key: str) -> None:
    """A zero limit stops start-up, naming the key."""
    with pytest.raises(ConfigError, match=f"backends.local.{key}"):
        resolve({"backends": {"local": {"kind": "local", key: 0}}}, {})
    assert getattr(LocalBackendConfig(), key) > 0
