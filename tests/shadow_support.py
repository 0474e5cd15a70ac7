"""What the `[routing] shadow` tests share: settings with a local backend beside mocked
vendors, mocked vendors answering each create with a run of its own (or held at a gate), the
create bodies of both surfaces, and the ledger's comparisons read back."""

from __future__ import annotations

import asyncio
import base64
import itertools
import threading
from pathlib import Path
from typing import Any

import httpx
import msgspec
import respx

from gateway.config import LocalBackendConfig, Settings
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from gateway.store.sqlite import SqliteLedger
from tests.harness import GATEWAY_KEY, URLS, mocked_vendors_settings, wire, wire_json

OWNER = owner_of(GATEWAY_KEY)
RETAB_HEADERS = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND_HEADERS = {**RETAB_HEADERS, "x-extend-api-version": "2026-02-09"}
RETAB_CATEGORIES = [
    {"name": "invoice", "description": "Bill requesting payment, with an amount due"},
    {"name": "receipt", "description": "Proof that a payment has already been made"},
    {"name": "bill_of_lading", "handle_key": "bol", "description": "Carrier shipping document"},
]
EXTEND_CONFIG = {
    "classifications": [
        {"id": "invoice", "type": "invoice", "description": "Bill requesting payment"},
        {"id": "receipt", "type": "receipt", "description": "Proof of a payment made"},
    ]
}
_ids = itertools.count(1)


def retab_create(text: str = "Freight invoice: total due within 30 days", **extra: Any) -> Any:
    """A Retab create of a text document (sync unless `background` is given)."""
    data = "data:text/plain;base64," + base64.b64encode(text.encode()).decode()
    return {
        "document": {"filename": "doc.txt", "url": data},
        "categories": RETAB_CATEGORIES,
        **extra,
    }


def extend_classify(text: str = "Invoice number 7, total due") -> Any:
    """An Extend sync `POST /classify` of a text document."""
    return {"file": {"text": text, "name": "doc.txt"}, "config": EXTEND_CONFIG}


def settings(
    tmp_path: Path, vendors: list[str], *, default: str, shadow: tuple[str, ...], **extra: Any
) -> Settings:
    """Mocked `vendors` (each holding its own key) and a `local` backend; `gw-key` clients."""
    built = mocked_vendors_settings(tmp_path, vendors, default=default, shadow=shadow, **extra)
    return msgspec.structs.replace(
        built, backends={**built.backends, "local": LocalBackendConfig()}
    )


def retab_run(run_id: str) -> httpx.Response:
    """Retab's answer to a sync create: a completed run with id `run_id`."""
    body = wire_json("retab_create_response_201.json")
    body["id"] = run_id
    return httpx.Response(201, json=body)


def new_retab_id() -> str:
    return f"cls_shadow{next(_ids):06d}"


def retab_vendor(answer: Any = None) -> respx.MockRouter:
    """A mocked Retab whose creates answer `answer` (a response, an exception class, or a
    side effect), by default a new completed run each."""
    router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    route = router.post("/v1/classifications")
    if answer is None:
        route.mock(side_effect=lambda request: retab_run(new_retab_id()))
    elif isinstance(answer, httpx.Response):
        route.mock(return_value=answer)
    else:
        route.mock(side_effect=answer)
    return router


def extend_vendor(status: int = 200) -> respx.MockRouter:
    """A mocked Extend whose sync `/classify` answers its processed-run example, or an error."""
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    name = "extend_classify_response.json" if status == 200 else "extend_error_500_internal.json"
    answer = httpx.Response(
        status, content=wire(name), headers={"content-type": "application/json"}
    )
    router.post("/classify").mock(return_value=answer)
    router.post("/classify_runs").mock(return_value=answer)
    return router


class Gate:
    """Holds a mocked vendor's answers until the test opens it: each waits on an asyncio.Event
    of the app's own loop, set from the test's thread."""

    def __init__(self, then: Any) -> None:
        self._then = then
        self._lock = threading.Lock()
        self._open = False
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        event = asyncio.Event()
        with self._lock:
            if not self._open:
                self._waiting.append((asyncio.get_running_loop(), event))
        if not event.is_set() and not self._open:
            await event.wait()
        answer: httpx.Response = self._then(request)
        return answer

    def open(self) -> None:
        with self._lock:
            self._open = True
            for loop, event in self._waiting:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(event.set)


def comparisons(settings: Settings, owner: str | None = OWNER) -> tuple[ComparisonRecord, ...]:
    """The owner's comparisons in the settings' ledger, as the store reads them now."""

    async def read() -> tuple[ComparisonRecord, ...]:
        async with await SqliteLedger.open(settings.store_path) as ledger:
            return await ledger.comparisons(owner)

    return asyncio.run(read())
