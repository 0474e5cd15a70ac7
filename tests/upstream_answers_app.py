"""A gateway with both vendors mocked by respx, for tests of what a vendor's answer must be
(tests/test_upstream_answers.py, tests/test_secret_scrub.py, tests/test_upstream_hints.py).

`gateway(tmp_path, OTHER)` serves each surface's clients from the other vendor,
`gateway(tmp_path, SAME)` from its own (same-vendor pass-through). Clients present
`GATEWAY_KEY`; the backends hold `sk-retab` and `sk-extend` (tests/harness.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import respx
from litestar.testing import TestClient

from gateway.store import RunRecord, SqliteLedger, owner_of
from mappings import canonical, extend
from mappings.dialects import Dialect
from tests.harness import GATEWAY_KEY, URLS, mocked, mocked_vendors_settings, running, wire_json

RUNS: dict[Dialect, str] = {"retab": "/v1/classifications", "extend": "/classify_runs"}
SURFACES: tuple[Dialect, ...] = ("retab", "extend")
OTHER: dict[Dialect, Dialect] = {"retab": "extend", "extend": "retab"}  # translated
SAME: dict[Dialect, Dialect] = {"retab": "retab", "extend": "extend"}  # relayed
OWNER = owner_of(GATEWAY_KEY)

# a background create of each surface, in a form either vendor can serve
CREATE_BODY: dict[Dialect, Any] = {
    "retab": {
        "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
        "categories": [{"name": "invoice"}, {"name": "receipt"}],
        "background": True,
    },
    "extend": {
        "file": {"text": "Invoice", "name": "a.txt"},
        "config": {
            "classifications": [
                {"id": "invoice", "type": "invoice", "description": "A bill"},
                {"id": "receipt", "type": "receipt", "description": "Proof of payment"},
            ]
        },
    },
}
# each vendor's answer to a background create, a read of an unfinished run, and a cancel
ANSWERS: dict[tuple[Dialect, str], str] = {
    ("extend", "create"): "extend_classify_runs_create_response.json",
    ("extend", "get"): "extend_classify_runs_get_pending.json",
    ("extend", "cancel"): "extend_classify_runs_cancel_response.json",
    ("retab", "create"): "retab_create_response_background_queued.json",
    ("retab", "get"): "retab_get_in_progress.json",
    ("retab", "cancel"): "retab_cancel_response.json",
}
CREATED_STATUS: dict[Dialect, int] = {"retab": 201, "extend": 200}


def answer(vendor: Dialect, kind: str, run_id: str | None = None) -> dict[str, Any]:
    """A vendor's run answer (`create`, `get`, `cancel`), with `run_id` as its id if given."""
    body: dict[str, Any] = wire_json(ANSWERS[vendor, kind])
    return body if run_id is None else body | {"id": run_id}


def native_id(vendor: Dialect) -> str:
    """The id of the run in the vendor's answers."""
    return str(answer(vendor, "create")["id"])


def headers(surface: Dialect) -> dict[str, str]:
    """What a client's SDK sends besides its body."""
    sent = {"authorization": f"Bearer {GATEWAY_KEY}"}
    if surface == "extend":
        sent[extend.VERSION_HEADER] = extend.API_VERSION
    return sent


class Gateway(msgspec.Struct, frozen=True, kw_only=True):
    """A started gateway, its mocked vendors, and the ledger file it keeps."""

    client: TestClient[Any]
    vendors: Mapping[str, respx.MockRouter]
    store_path: str
    routes: Mapping[Dialect, Dialect]  # the vendor behind each surface

    def create(self, surface: Dialect) -> httpx.Response:
        """A background create from a `surface` client."""
        return self.client.post(RUNS[surface], json=CREATE_BODY[surface], headers=headers(surface))

    def get(self, surface: Dialect, public_id: str) -> httpx.Response:
        return self.client.get(f"{RUNS[surface]}/{public_id}", headers=headers(surface))

    def cancel(self, surface: Dialect, public_id: str) -> httpx.Response:
        return self.client.post(f"{RUNS[surface]}/{public_id}/cancel", headers=headers(surface))

    def delete(self, surface: Dialect, public_id: str) -> httpx.Response:
        return self.client.delete(f"{RUNS[surface]}/{public_id}", headers=headers(surface))

    def listed(self, surface: Dialect) -> list[str]:
        """The ids a `surface` client's listing shows; the listing must succeed."""
        response = self.client.get(RUNS[surface], headers=headers(surface))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["data"]]

    def vendor_of(self, surface: Dialect) -> respx.MockRouter:
        return self.vendors[self.routes[surface]]

    def records(self) -> list[RunRecord]:
        """Every run the ledger holds for the client, read through the ledger's own API."""
        return records(self.store_path)


def records(store_path: str) -> list[RunRecord]:
    """The client's runs in the ledger at `store_path`."""

    async def read() -> list[RunRecord]:
        async with await SqliteLedger.open(store_path) as ledger:
            query = canonical.ListQuery(limit=100)
            return list((await ledger.list(OWNER, query)).records)

    return asyncio.run(read())


@contextmanager
def gateway(
    tmp_path: Path,
    routes: Mapping[Dialect, Dialect],
    backend_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Iterator[Gateway]:
    """A started gateway whose surfaces are served by the vendors `routes` names, each
    backend with `backend_options` (e.g. `retries`) set."""
    vendors: dict[str, respx.MockRouter] = {
        vendor: respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
        for vendor in SURFACES
    }
    built = mocked_vendors_settings(
        tmp_path, vendors, default="extend", surface_backends=dict(routes), **settings
    )
    backends = {
        name: msgspec.structs.replace(config, **(backend_options or {}))
        for name, config in built.backends.items()
    }
    built = msgspec.structs.replace(built, backends=backends)
    with running(built, mocked(vendors)) as client:
        yield Gateway(
            client=client, vendors=vendors, store_path=built.store_path, routes=dict(routes)
        )
