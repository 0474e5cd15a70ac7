"""A respx-mocked Retab for replay tests: each sync create is answered completed with the
category its `answers` give the document's filename (else the first category sent); a gate
can hold every create after the first few unanswered, as a vendor that stops answering, and
chosen documents can be failed with a 500, as a vendor failing for a while, or refused with
a 422, as a document the vendor cannot read; a `gate` holds
creates until the test opens it."""

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
        refusing: frozenset[str] = frozenset(),
    ) -> None:
        self.router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
        self.router.post("/v1/classifications").mock(side_effect=self._create)
        self.answers = answers  # filename -> category name
        self.hold_after = hold_after  # None: every create is answered
        self.sent: list[str] = []
        self.held = asyncio.Event()  # set when a create is held at the gate
        self.failing = failing  # filenames answered a 500 (no run made)
        self.refusing = refusing  # filenames answered a 422: the document refused for good
        self.in_flight = self.most_in_flight = 0
        self.gate: asyncio.Event | None = None  # when given, creates wait for it to be set

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content)
        filename = body["document"]["filename"]
        self.sent.append(filename)
        if self.hold_after is not None and len(self.sent) > self.hold_after:
            self.held.set()
            await asyncio.Event().wait()  # never answered: the replay is stopped meanwhile
        if filename in self.failing:
            return httpx.Response(500, json={"detail": "Internal server error"})
        if filename in self.refusing:
            return httpx.Response(422, json={"detail": "The document cannot be read"})
        names = [c["name"] for c in body["categories"]]
        run: dict[str, Any] = wire_json("retab_create_response_201.json")
        run |= {"id": f"cls_{next(_IDS):026d}", "categories": body["categories"]}
        run["file"] = {"id": "file_1", "filename": filename, "mime_type": "text/plain"}
        run["output"] = {
            "reasoning": "read by the fake",
            "category": self.answers.get(filename, names[0]),
        }
        return httpx.Response(200, json=run)


class PollingExtend:
    """Extend's runs API (and its uploads): a create answers a run still PROCESSING, and a
    read answers it so until `finish()`, then PROCESSED as the first classification sent.
    `created` counts the creates, `reads` the reads."""

    def __init__(self) -> None:
        self.router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
        self.router.post("/classify_runs").mock(side_effect=self._create)
        self.router.post("/files/upload").mock(side_effect=self._upload)
        self.router.get(path__regex=r"^/classify_runs/(?P<run_id>[^/]+)$").mock(
            side_effect=self._get
        )
        self.created = 0
        self.reads = 0
        self.finished = False
        self.runs: dict[str, dict[str, Any]] = {}

    def finish(self) -> None:
        self.finished = True

    def _create(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content)
        run: dict[str, Any] = wire_json("extend_classify_runs_create_response.json")
        run |= {"id": f"clr_{next(_IDS):022d}", "status": "PROCESSING", "metadata": {}}
        run |= {"classifier": None, "classifierVersion": None}
        run["config"] = body["config"]
        run["file"]["name"] = body["file"].get("name", "document")
        self.runs[run["id"]] = run
        self.created += 1
        return httpx.Response(200, json=run)

    def _upload(self, request: httpx.Request) -> httpx.Response:
        file: dict[str, Any] = wire_json("extend_files_upload_response.json")
        return httpx.Response(200, json=file | {"id": f"file_{next(_IDS):022d}"})

    def _get(self, request: httpx.Request, run_id: str) -> httpx.Response:
        self.reads += 1
        run = self.runs[run_id]
        if self.finished:
            first = run["config"]["classifications"][0]
            output = {"id": first["id"], "type": first["type"], "confidence": 0.5}
            run = run | {"status": "PROCESSED", "output": output | {"insights": []}}
        return httpx.Response(200, json=run)
