"""A respx-mocked Retab for batch tests: background creates answer `queued`, reads answer the
run completed (as the first category it was sent), and a gate can hold every create after
the first few unanswered, as a vendor that stops answering mid-batch."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from typing import Any

import httpx
import respx

from tests.harness import URLS, wire_json

_IDS = itertools.count(1)  # one vendor: run ids stay unique across its fakes (restarts)


class FakeRetab:
    """Retab's classifications API, answering from memory; `answered` counts the creates it
    answered (a run the vendor made and said so)."""

    def __init__(
        self, *, hold_after: int | None = None, refuse: str | None = None, delay: float = 0.0
    ) -> None:
        self.router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
        self.router.post("/v1/classifications").mock(side_effect=self._create)
        self.router.get(path__regex=r"^/v1/classifications/(?P<run_id>[^/]+)$").mock(
            side_effect=self._get
        )
        self.answered = 0
        self.in_flight = self.most_in_flight = 0
        self._refuse = refuse  # a document whose name holds this is refused (422)
        self._delay = delay  # seconds each create takes
        self.runs: dict[str, dict[str, Any]] = {}
        self.hold_after = hold_after  # None: every create is answered
        self._lock = threading.Lock()
        self._grants = 0  # creates let through the gate, answered or about to be

    def _granted(self) -> bool:
        """Let one more create through the gate, if it is open; checked and counted at once,
        so that creates arriving together never pass `hold_after` between them."""
        with self._lock:
            if self.hold_after is not None and self._grants >= self.hold_after:
                return False
            self._grants += 1
            return True

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._answer(json.loads(request.content))
        finally:
            self.in_flight -= 1

    async def _answer(self, sent: dict[str, Any]) -> httpx.Response:
        while not self._granted():
            await asyncio.sleep(0.01)  # held: never answered, until the app is stopped
        await asyncio.sleep(self._delay)
        if self._refuse is not None and self._refuse in sent["document"]["filename"]:
            detail = {"code": "INVALID_FILE", "message": "The file could not be read."}
            return httpx.Response(422, json={"detail": detail})
        with self._lock:
            run: dict[str, Any] = wire_json("retab_create_response_background_queued.json")
            run |= {"id": f"cls_{next(_IDS):026d}", "n_consensus": 1}
            run["categories"] = sent["categories"]
            run["file"]["filename"] = sent["document"]["filename"]
            self.runs[run["id"]] = run
            self.answered += 1
        return httpx.Response(200, json=run)

    def _get(self, request: httpx.Request, run_id: str) -> httpx.Response:
        run = self.runs.get(run_id)
        if run is None:
            return httpx.Response(404, json={"detail": "Not found"})
        done = run | {"status": "completed"}
        done["output"] = {"reasoning": "first", "category": run["categories"][0]["name"]}
        return httpx.Response(200, json=done)
