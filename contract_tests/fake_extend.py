"""A small stateful fake of Extend's API on a respx router, for the `extend` backend's tests.

It answers from the `fixtures/wire/extend_*` examples, adapted to each request: uploaded files
get fresh `file_…` ids, runs fresh `clr_…` ids, and a run created with `POST /classify_runs`
answers PROCESSING until a later GET finds it PROCESSED. Every request is recorded with its
answer, and the next call can be made to fail (contract_tests/fake_extend_recording.py).
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import respx

from contract_tests.fake_extend_recording import Json, Received, RecordingFake, parse_multipart

__all__ = ["API_VERSION", "BASE_URL", "FakeExtend", "Received", "wire"]

BASE_URL = "https://api.extend.test"
API_VERSION = "2026-02-09"
WIRE = Path(__file__).parent.parent / "fixtures" / "wire"

_ALPHABET = string.ascii_letters + string.digits
_UNFINISHED = ("PENDING", "PROCESSING")
_TYPES = {"pdf": "PDF", "csv": "CSV", "txt": "TXT", "html": "HTML", "xml": "XML", "png": "IMG"}
# what a run summary (list item) leaves out of a run (contracts.md §5.2)
_NOT_IN_SUMMARY = ("output", "initialOutput", "reviewedOutput", "config")


def wire(name: str) -> Json:
    """A fixture from `fixtures/wire/`, fresh each time (callers may change it)."""
    value: Json = json.loads((WIRE / name).read_bytes())
    return value


class FakeExtend(RecordingFake):
    """Extend's Files and classify APIs, in memory. `transport` plugs it into a backend."""

    def __init__(self, *, gets_before_processed: int = 1) -> None:
        super().__init__()
        # a run made with POST /classify_runs answers PROCESSING to this many GETs, then finishes
        self.gets_before_processed = gets_before_processed
        self.extra_fields: Json = {}  # merged into every run answered: "future" fields
        self.runs: dict[str, Json] = {}
        self.files: dict[str, Json] = {}
        self._texts: dict[str, str] = {}  # file id -> its text, for choosing a classification
        self._gets_left: dict[str, int] = {}
        # after every fixture's timestamps, so runs made here are the newest
        self._clock = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
        self.router = respx.MockRouter(base_url=BASE_URL, assert_all_called=False)
        self._routes()

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.async_handler)

    def add_run(self, run: Json) -> str:
        """A run that exists at Extend without crosswalk having made it (e.g. a fixture)."""
        self.runs[run["id"]] = run
        return str(run["id"])

    @property
    def last_run_id(self) -> str:
        return next(reversed(self.runs))

    def run(self, run_id: str) -> Json:
        """A run as Extend would answer it now (without counting as a GET)."""
        return self._public(self.runs[run_id])

    def finish(self, run_id: str) -> None:
        """Finish a run now: PROCESSED, with the classification its text names."""
        self._finish(self.runs[run_id])

    def _routes(self) -> None:
        runs, one = "/classify_runs", r"^/classify_runs/(?P<run_id>[^/]+)"
        mock = self.router
        mock.post("/files/upload").mock(side_effect=self.serve(self._upload))
        mock.get(path__regex=r"^/files/(?P<file_id>[^/]+)$").mock(
            side_effect=self.serve(self._get_file)
        )
        mock.post("/classify").mock(side_effect=self.serve(self._classify))
        mock.post(runs).mock(side_effect=self.serve(self._create))
        mock.get(runs).mock(side_effect=self.serve(self._list))
        mock.get(path__regex=one + "$").mock(side_effect=self.serve(self._get_run))
        mock.post(path__regex=one + "/cancel$").mock(side_effect=self.serve(self._cancel))
        mock.delete(path__regex=one + "$").mock(side_effect=self.serve(self._delete))
        mock.route().mock(side_effect=self.serve(lambda request: _error(404, "Not found.")))

    def check(self, request: httpx.Request) -> httpx.Response | None:
        """Extend refuses a call without a bearer key (401) or at another API version (400)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, wire("extend_error_401_unauthorized.json")["message"])
        if request.headers.get("x-extend-api-version") != API_VERSION:
            return _error(400, f"Unsupported x-extend-api-version; use {API_VERSION}.")
        return None

    def _upload(self, request: httpx.Request) -> httpx.Response:
        part = parse_multipart(request.headers.get("content-type", ""), request.content).get("file")
        if part is None or not part.filename:
            return _error(400, "The multipart part `file` (with a filename) is required.")
        file = wire("extend_files_upload_response.json")
        extension = part.filename.rsplit(".", 1)[-1].lower()
        now = self._now()
        file.update(
            id=_fresh_id("file_"),
            name=part.filename,
            type=_TYPES.get(extension, "TXT"),
            metadata=file["metadata"] if extension == "pdf" else {},
            createdAt=now,
            updatedAt=now,
        )
        self.files[file["id"]] = file
        self._texts[file["id"]] = part.data.decode("utf-8", "ignore")
        return httpx.Response(200, json=file)

    def _get_file(self, request: httpx.Request, file_id: str) -> httpx.Response:
        if file_id not in self.files:
            return _error(404, f"File {file_id} not found.")
        presigned = wire("extend_files_get_response.json")["presignedUrl"]
        url = presigned.replace("file_xQ4nT8vB2mK6pR9sW3yZ7c", file_id)
        return httpx.Response(200, json={**self.files[file_id], "presignedUrl": url})

    def _classify(self, request: httpx.Request) -> httpx.Response:
        return self._start(request, finished=True)

    def _create(self, request: httpx.Request) -> httpx.Response:
        return self._start(request, finished=False)

    def _start(self, request: httpx.Request, *, finished: bool) -> httpx.Response:
        body = json.loads(request.content or b"null")
        if not isinstance(body, dict) or "file" not in body:
            return _error(400, "`file` is required.")
        if "config" not in body and "classifier" not in body:
            return _error(400, wire("extend_error_400_invalid_request.json")["message"])
        file, text = self._file_of(body["file"])
        if file is None:
            return _error(404, f"File {body['file'].get('id')} not found.")
        run = self._new_run(body, file, text)
        self.runs[run["id"]] = run
        if finished:
            self._finish(run)
        else:
            self._gets_left[run["id"]] = self.gets_before_processed
        return self._run_answer(run)

    def _new_run(self, body: Json, file: Json, text: str) -> Json:
        run = wire("extend_classify_runs_create_response.json")
        run_id, now = _fresh_id("clr_"), self._now()
        run.update(
            id=run_id,
            status="PROCESSING",
            metadata=body.get("metadata"),
            file=file,
            dashboardUrl=f"https://dashboard.extend.ai/classify_runs/{run_id}",
            createdAt=now,
            updatedAt=now,
            _text=text,  # kept for choosing the answer; never sent
        )
        if "config" in body:  # inline config: no saved classifier behind the run
            resolved = {"baseProcessor": "classification_standard", "baseVersion": "3.3.0"}
            run.update(config=resolved | body["config"], classifier=None, classifierVersion=None)
        return run

    def _file_of(self, given: Json) -> tuple[Json | None, str]:
        """The run's FileSummary for a request `file`, and the text to classify it by."""
        if "id" in given:
            file = self.files.get(given["id"])
            summary = None if file is None else _summary_of_file(file)
            return summary, self._texts.get(given["id"], "")
        name = given.get("name") or given.get("url", "document.txt").rsplit("/", 1)[-1]
        file = wire("extend_files_upload_response.json")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "txt"
        file.update(id=_fresh_id("file_"), name=name, type=_TYPES.get(extension, "TXT"))
        now = self._now()
        file.update(metadata={}, createdAt=now, updatedAt=now)
        text = given.get("text") or f"{name} {given.get('url', '')}"
        return _summary_of_file(file), text

    def _finish(self, run: Json) -> None:
        """PROCESSED, with the classification the document text names (else the first)."""
        classifications = run["config"]["classifications"]
        text = str(run.get("_text", "")).lower()
        named = (c for c in classifications if c["id"].lower() in text or c["type"].lower() in text)
        chosen = next(named, classifications[0])
        sample = wire("extend_classify_response.json")
        output = sample["output"] | {"id": chosen["id"], "type": chosen["type"]}
        output["insights"] = [{"type": "reasoning", "content": f"The text names {chosen['type']}."}]
        usage = {"credits": 2, "totalCredits": 2}
        run.update(status="PROCESSED", output=output, usage=usage, updatedAt=self._now())

    def _get_run(self, request: httpx.Request, run_id: str) -> httpx.Response:
        run = self.runs.get(run_id)
        if run is None:
            return _not_found(run_id)
        if run["status"] in _UNFINISHED:
            self._gets_left[run_id] = left = self._gets_left.get(run_id, 0) - 1
            if left < 0:
                self._finish(run)
        return self._run_answer(run)

    def _cancel(self, request: httpx.Request, run_id: str) -> httpx.Response:
        run = self.runs.get(run_id)
        if run is None:
            return _not_found(run_id)
        if run["status"] not in _UNFINISHED:
            # Extend cancels only runs still processing (contracts.md §5)
            return _error(400, f"Classify run {run_id} is {run['status']}; it cannot be cancelled.")
        run.update(status="CANCELLED", updatedAt=self._now())
        return self._run_answer(run)

    def _delete(self, request: httpx.Request, run_id: str) -> httpx.Response:
        if self.runs.pop(run_id, None) is None:
            return _not_found(run_id)
        return httpx.Response(
            200, json=wire("extend_classify_runs_delete_response.json") | {"id": run_id}
        )

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        newest_first = params.get("sortDir", "desc") == "desc"
        runs = sorted(self.runs.values(), key=lambda r: r["createdAt"], reverse=newest_first)
        if status := params.get("status"):
            runs = [r for r in runs if r["status"] == status]
        start, size = int(params.get("nextPageToken") or 0), int(params.get("maxPageSize") or 10)
        page = runs[start : start + size]
        token = str(start + size) if start + size < len(runs) else None
        items = [
            {k: v for k, v in self._public(r).items() if k not in _NOT_IN_SUMMARY} for r in page
        ]
        return httpx.Response(200, json={"object": "list", "data": items, "nextPageToken": token})

    def _run_answer(self, run: Json) -> httpx.Response:
        return httpx.Response(200, json=self._public(run))

    def _public(self, run: Json) -> Json:
        shown = {k: copy.deepcopy(v) for k, v in run.items() if not k.startswith("_")}
        return shown | self.extra_fields

    def _now(self) -> str:
        # a strictly increasing clock, so runs have a definite creation order
        with self._lock:
            self._clock += timedelta(seconds=1)
            moment = self._clock
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str) -> httpx.Response:
    """Extend's error envelope (fixtures/wire/extend_error_*.json) with a fresh request id."""
    fixture = {
        400: "extend_error_400_invalid_request.json",
        401: "extend_error_401_unauthorized.json",
        404: "extend_error_404_not_found.json",
    }[status]
    body = wire(fixture) | {"message": message, "requestId": _fresh_id("req_")}
    return httpx.Response(status, json=body)


def _not_found(run_id: str) -> httpx.Response:
    return _error(404, f"Classify run {run_id} not found.")


def _summary_of_file(file: Json) -> Json:
    return {k: v for k, v in file.items() if k not in ("presignedUrl", "contents", "parentFileId")}


def _fresh_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(22))
