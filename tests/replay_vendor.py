"""A respx-mocked Retab for replay tests: each sync create is answered completed with the
category its `answers` give the document's filename (else the first category sent); a gate
can hold every create after the first few unanswered, as a vendor that stops answering, and
chosen documents can be refused with a 500, as a vendor failing for a while."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import respx

from tests.harness import URLS, wire_json

_IDS = itertools.count(1)  # run ids stay unique across fakes (one vendor, restarted replays)


class AnsweringRetab:
    """Retab's create endpoint; `sent` lists the filenames of every create it received."""

    def __init__(
        self,
        answers: dict[str, str],
        *,
        hold_after: int | None = None,
        failing: frozenset[str] = frozenset(),
    ) -> None:
        self.router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
        self.router.post("/v1/classifications").mock(side_effect=self._create)
        self.answers = answers  # filename -> category name
        self.hold_after = hold_after  # None: every create is answered
        self.sent: list[str] = []
        self.held = asyncio.Event()  # set when a create is held at the gate
        self.failing = failing  # filenames answered a 500 (no run made)

    async def _create(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content)
        filename = body["document"]["filename"]
        self.sent.append(filename)
        if self.hold_after is not None and len(self.sent) > self.hold_after:
            self.held.set()
            await asyncio.Event().wait()  # never answered: the replay is stopped meanwhile
        if filename in self.failing:
            return httpx.Response(500, json={"detail": "Internal server error"})
        names = [c["name"] for c in body["categories"]]
        run: dict[str, Any] = wire_json("retab_create_response_201.json")
        run |= {"id": f"cls_{next(_IDS):026d}", "categories": body["categories"]}
        run["file"] = {"id": "file_1", "filename": filename, "mime_type": "text/plain"}
        run["output"] = {
            "reasoning": "read by the fake",
            "category": self.answers.get(filename, names[0]),
        }
        return httpx.Response(200, json=run)
