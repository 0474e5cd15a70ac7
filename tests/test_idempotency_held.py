"""Idempotency-Key while a create is held: its live process renews its reservation, a client
gone before its answer frees a key that names its run, and an oversized body is never read
ahead of the surface's 413."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from litestar.types import Message, ReceiveMessage
from structlog.testing import capture_logs

from gateway.config import LocalBackendConfig, ServerConfig
from mappings import extend
from tests.harness import (
    GATEWAY_KEY,
    MakeGateway,
    extend_error,
    local_settings,
    mocked_vendors_settings,
    running,
    vendor_backend,
    vendor_settings,
    wait_until,
    wire,
)
from tests.held_vendor import Clockwork, Gate, held
from tests.stores import Store

EXTEND = {"authorization": f"Bearer {GATEWAY_KEY}", "x-extend-api-version": extend.API_VERSION}
EXTEND_BODY = {
    "file": {"text": "Invoice 42: total due", "name": "a.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "x"}]},
}
RETAB_BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SGVsbG8="},
    "categories": [{"name": "invoice"}],
}


def _lease_us(store: Store, key: str) -> int | None:
    rows = store.execute("SELECT lease_until_us FROM idempotency_keys WHERE key = ?", (key,))
    return None if not rows else int(rows[0][0]) if rows[0][0] is not None else None


def test_a_create_in_flight_past_its_first_lease_still_holds_its_key(
    tmp_path: Path, store: Store
) -> None:
    """A create held at the vendor longer than the sync timeout and its grace (a background
    run, or fallback) has its reservation renewed by its live process: a duplicate sent then
    is a 409, not a second run."""
    clock, gate = Clockwork(), Gate()
    settings = mocked_vendors_settings(
        tmp_path, ["extend"], default="extend", server=ServerConfig(sync_timeout=5.0)
    )
    settings = store.serving(settings)
    sent = {**EXTEND, "idempotency-key": "long"}
    with running(settings, {"extend": gate}, clock=clock) as client:

        def first() -> httpx.Response:
            return client.post("/classify_runs", json=EXTEND_BODY, headers=sent)

        with held(gate, first) as answers:
            leased = _lease_us(store, "long")
            assert leased is not None
            clock.now += timedelta(seconds=50)  # most of the first lease (5 s + 60 s) is gone
            wait_until(lambda: (_lease_us(store, "long") or 0) > leased, timeout=5)
            clock.now += timedelta(seconds=50)  # past the first lease: the renewed one holds
            duplicate = client.post("/classify_runs", json=EXTEND_BODY, headers=sent)
            extend_error(duplicate, 409)
        assert answers[0].status_code == 200
    assert gate.creates == 1


def _abandon(gateway_url: str, path: str, key: str, body: bytes, until: Callable[[], bool]) -> None:
    """Send a create with `key` over a raw socket and hang up once `until()` holds."""
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {GATEWAY_KEY}\r\n"
        f"x-extend-api-version: {extend.API_VERSION}\r\nidempotency-key: {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    host, port = gateway_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        client.sendall(head.encode() + body)
        wait_until(until, timeout=10)


class _PolledRun(httpx.AsyncBaseTransport):
    """Extend accepting a run at once, then holding each read of it until `release`."""

    def __init__(self) -> None:
        self.polled = threading.Event()
        self.release = threading.Event()
        self.creates = 0
        self.run_id = json.loads(wire("extend_classify_runs_create_response.json"))["id"]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.creates += 1
            return httpx.Response(200, content=wire("extend_classify_runs_create_response.json"))
        self.polled.set()
        # abandoned on cancel: the gateway gives up the read when its client goes
        await anyio.to_thread.run_sync(self.release.wait, abandon_on_cancel=True)
        done = {**json.loads(wire("extend_classify_response.json")), "id": self.run_id}
        return httpx.Response(200, json=done)


def test_a_client_gone_after_its_run_was_accepted_frees_the_key_for_that_run(
    tmp_path: Path, store: Store, make_gateway: MakeGateway
) -> None:
    """A sync create whose run Extend accepted, abandoned by its client while the gateway waits
    for the run: the key is freed at once (not in flight for the sync timeout), and the retry
    is answered with that same run, never a second one."""
    vendor = _PolledRun()
    backend = vendor_backend("extend", api_key_env="EXTEND_API_KEY", sync_mode="poll")
    settings = vendor_settings(
        tmp_path, {"extend": backend}, default="extend", api_keys=(GATEWAY_KEY,),
        upstream_keys={"extend": "sk-extend"},
    )  # fmt: skip
    gateway = make_gateway(store.serving(settings), {"extend": vendor}, served=True)
    body = json.dumps(RETAB_BODY).encode()
    _abandon(gateway.url, "/v1/classifications", "gone", body, vendor.polled.is_set)
    wait_until(lambda: _lease_us(store, "gone") == 0, timeout=10)
    [(run_ref,)] = store.execute("SELECT run_ref FROM idempotency_keys")
    vendor.release.set()
    headers = {"idempotency-key": "gone", "content-type": "application/json"}
    retry = gateway.http(GATEWAY_KEY).post("/v1/classifications", content=body, headers=headers)
    assert retry.status_code in (200, 201), retry.text
    assert retry.json()["id"] == run_ref  # the run the abandoned create made
    assert vendor.creates == 1


def test_an_oversized_body_is_not_read_ahead_of_the_413(tmp_path: Path) -> None:
    """A create with a key whose Content-Length is past the limit goes straight to the
    surface, which answers its 413 without the body being buffered first."""
    settings = local_settings(tmp_path, server=ServerConfig(max_body_bytes=1024))
    chunk = b"a" * 256
    chunks = 64  # 16 KiB declared and offered
    handed: list[int] = []
    sent: list[Message] = []

    async def receive() -> ReceiveMessage:
        handed.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(handed) < chunks}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(k.encode(), v.encode()) for k, v in EXTEND.items()] + [
        (b"idempotency-key", b"big"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(chunk) * chunks).encode()),
    ]
    with running(settings) as client:
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/classify_runs",
            "raw_path": b"/classify_runs", "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            "state": {}, "app": client.app,
        }  # fmt: skip

        async def call() -> None:
            await asyncio.wait_for(client.app(scope, receive, send), timeout=10)

        client.blocking_portal.call(call)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert sum(handed) <= 1024  # never buffered past the limit ahead of the surface


def test_a_client_gone_before_anything_went_upstream_frees_the_key(
    tmp_path: Path, store: Store, make_gateway: MakeGateway
) -> None:
    """A create on the local backend (which sends nothing upstream) abandoned mid-run leaves
    no key in flight: a retry is not refused with a 409 for the sync timeout."""
    local = LocalBackendConfig(min_run_seconds=60.0)
    gateway = make_gateway(store.serving(local_settings(tmp_path, local)), served=True)
    body = json.dumps(EXTEND_BODY).encode()
    _abandon(gateway.url, "/classify", "local", body, lambda: bool(_lease_us(store, "local")))
    wait_until(lambda: not _lease_us(store, "local"), timeout=10)


class _HeldCreate(Gate):
    """A held Extend create that lets go when the gateway gives up on it."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.creates += 1
        self.arrived.set()
        await anyio.to_thread.run_sync(self.release.wait, abandon_on_cancel=True)
        return httpx.Response(200, content=wire("extend_classify_runs_create_response.json"))


def test_a_client_gone_after_its_create_went_upstream_keeps_the_key(
    tmp_path: Path, store: Store, make_gateway: MakeGateway
) -> None:
    """A create abandoned while Extend may be making its run (sent, not yet accepted) keeps
    its key in flight: a retry then is a 409, never a second run."""
    vendor = _HeldCreate()
    settings = store.serving(mocked_vendors_settings(tmp_path, ["extend"], default="extend"))
    gateway = make_gateway(settings, {"extend": vendor}, served=True)
    body = json.dumps(EXTEND_BODY).encode()
    with capture_logs() as logs:
        _abandon(gateway.url, "/classify_runs", "sent", body, vendor.arrived.is_set)
        wait_until(lambda: any(e["event"] == "request.abandoned" for e in logs))
    assert _lease_us(store, "sent")  # still in flight
    headers = {**EXTEND, "idempotency-key": "sent", "content-type": "application/json"}
    retry = gateway.http(None).post("/classify_runs", content=body, headers=headers)
    extend_error(retry, 409)
    vendor.release.set()
    assert vendor.creates == 1
