"""A small stateful fake of Retab's classifications API (contracts.md §2), on a respx router.

Answers are the `fixtures/wire/retab_*` examples adapted to each request. Every request is
recorded with the answer it got, and the next call can be made to fail. Only the upstream
vendor is faked: the gateway in front of it is always the real one.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
import json
import mimetypes
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from tests.harness import FIXTURES

BASE_URL = "https://api.retab.test"
PATH = "/v1/classifications"
WIRE = FIXTURES / "wire"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
NOT_FOUND: dict[str, Any] = json.loads((WIRE / "retab_error_404_detail_string.json").read_bytes())
PLACEHOLDER = {"reasoning": "", "category": ""}  # Retab's output until a run completes

Json = dict[str, Any]
Handler = Callable[[httpx.Request, str], httpx.Response]


def _fixture(name: str) -> Json:
    value: Json = json.loads((WIRE / name).read_bytes())
    return value


@dataclass(frozen=True)
class Recorded:
    """One request the fake received, and what it answered (status None: it raised)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lowercased
    body: bytes
    status: int | None
    response: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Failure:
    """What the next matching call gets instead of its answer: a response or an exception."""

    status: int = 500
    body: Any = None  # JSON, or bytes sent as they are
    headers: Mapping[str, str] = field(default_factory=dict)
    exception: Exception | None = None
    method: str | None = None  # only a call with this method (and path) matches, if given
    path: str | None = None

    def matches(self, request: httpx.Request) -> bool:
        return (self.method is None or request.method == self.method) and (
            self.path is None or request.url.path == self.path
        )

    def response(self) -> httpx.Response:
        if self.exception is not None:
            raise self.exception
        if isinstance(self.body, bytes):
            return httpx.Response(self.status, content=self.body, headers=dict(self.headers))
        return httpx.Response(self.status, json=self.body, headers=dict(self.headers))


@dataclass
class _Run:
    resource: Json
    decision: Json  # the output it gets once completed
    gets: int = 0


class FakeRetab:
    """Retab's `/v1/classifications` API with state: runs are created, polled, cancelled.

    A background run is `queued`, then moves one step per GET (`in_progress`, then
    `completed` after `gets_to_complete` GETs). `extra_fields` are added to every
    Classification it answers, as a future Retab would. With `finish_on_cancel`, a cancel
    arrives just too late: the run completes instead, and comes back completed.
    """

    def __init__(self, *, gets_to_complete: int = 2) -> None:
        self.gets_to_complete = gets_to_complete
        self.extra_fields: Json = {}
        self.finish_on_cancel = False
        self.requests: list[Recorded] = []
        self.runs: dict[str, _Run] = {}
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.router = respx.MockRouter(base_url=BASE_URL, assert_all_called=False)
        one = rf"^{PATH}/(?P<run_id>[^/]+)"
        self._route("POST", rf"^{PATH}$", self._create)
        self._route("GET", rf"^{PATH}$", self._list)
        self._route("GET", one + "$", self._get)
        self._route("DELETE", one + "$", self._delete)
        self._route("POST", one + "/cancel$", self._cancel)
        self.router.route().mock(side_effect=self._serving(lambda _r, _i: _json(404, NOT_FOUND)))

    @property
    def transport(self) -> httpx.MockTransport:
        """What the gateway's Retab backend uses instead of a connection to Retab."""
        return httpx.MockTransport(self.router.async_handler)

    def fail_next(
        self,
        status: int = 500,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        exception: Exception | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next call (or the next one to `method path`) with this, just once."""
        failure = Failure(status, body, dict(headers or {}), exception, method, path)
        with self._lock:
            self._failures.append(failure)

    def seed(self, resource: Json) -> None:
        """A run that exists at Retab already, e.g. one made before crosswalk was deployed."""
        with self._lock:
            self.runs[resource["id"]] = _Run(copy.deepcopy(resource), resource["output"])

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """The requests received, oldest first, optionally only those to `method path`."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def last(self, method: str, path: str = PATH) -> Recorded:
        found = self.calls(method, path)
        assert found, f"Retab got no {method} {path}"
        return found[-1]

    def only_run_id(self) -> str:
        (run_id,) = self.runs
        return run_id

    def status_of(self, run_id: str) -> str:
        return str(self.runs[run_id].resource["status"])

    def _route(self, method: str, pattern: str, handler: Handler) -> None:
        self.router.route(method=method, path__regex=pattern).mock(
            side_effect=self._serving(handler)
        )

    def _serving(self, handler: Handler) -> Callable[..., httpx.Response]:
        def serve(request: httpx.Request, run_id: str = "") -> httpx.Response:
            body = request.read()
            with self._lock:
                failure = next((f for f in self._failures if f.matches(request)), None)
                if failure is not None:
                    self._failures.remove(failure)
                try:
                    if failure is not None:
                        response = failure.response()
                    elif not request.headers.get("authorization", "").startswith("Bearer "):
                        response = _json(401, {"detail": "Not authenticated"})
                    else:
                        response = handler(request, run_id)
                except Exception:
                    self._record(request, body, None, b"")
                    raise
                response.headers["x-request-id"] = f"req_fake{len(self.requests):06d}"
                self._record(request, body, response.status_code, response.read())
                return response

        return serve

    def _record(self, request: httpx.Request, body: bytes, status: int | None, out: bytes) -> None:
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                status=status,
                response=out,
            )
        )

    def _create(self, request: httpx.Request, _: str) -> httpx.Response:
        try:
            sent = json.loads(request.content)
            document, categories = sent["document"], sent["categories"]
            filename, url = document["filename"], document["url"]
            file = _file_ref(filename, url)
        except (ValueError, KeyError, TypeError):  # binascii.Error is a ValueError
            issue = {"loc": ["body"], "msg": "Field required", "type": "missing"}
            return _json(422, {"detail": [issue]})
        background = bool(sent.get("background", False))
        template = "retab_create_response_background_queued.json" if background else None
        resource = _fixture(template or "retab_create_response_201.json")
        decision = _decide(_text_of(url), categories)
        run_id = f"cls_01JFAKE{next(self._ids):019d}"
        resource.update(
            id=run_id,
            file=file,
            model=sent.get("model", "retab-small"),
            categories=categories,
            n_consensus=sent.get("n_consensus", 1),
            instructions=sent.get("instructions"),
            output=PLACEHOLDER if background else decision,
            created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        self.runs[run_id] = _Run(resource, decision)
        return self._answer(201, resource)

    def _get(self, request: httpx.Request, run_id: str) -> httpx.Response:
        if (run := self.runs.get(run_id)) is None:
            return _json(404, NOT_FOUND)
        run.gets += 1
        if run.resource["status"] not in TERMINAL:
            finished = run.gets >= self.gets_to_complete
            _advance(run, "completed" if finished else "in_progress")
        view = dict(run.resource)
        if request.url.params.get("include_output") == "false":
            view.pop("output")  # a status-only projection (retab_get_status_only_http.json)
        return self._answer(200, view)

    def _cancel(self, _: httpx.Request, run_id: str) -> httpx.Response:
        if (run := self.runs.get(run_id)) is None:
            return _json(404, NOT_FOUND)
        if run.resource["status"] not in TERMINAL:  # idempotent: terminal runs come back as is
            _advance(run, "completed" if self.finish_on_cancel else "cancelled")
        return self._answer(200, run.resource)

    def _delete(self, _: httpx.Request, run_id: str) -> httpx.Response:
        if self.runs.pop(run_id, None) is None:
            return _json(404, NOT_FOUND)
        return httpx.Response(204)

    def _list(self, request: httpx.Request, _: str) -> httpx.Response:
        params = request.url.params
        ids = list(self.runs)
        if params.get("order", "desc") == "desc":
            ids.reverse()
        if (after := params.get("after")) in ids:
            ids = ids[ids.index(after) + 1 :]
        limit = int(params.get("limit", "10"))
        page, more = ids[:limit], len(ids) > limit
        data = [{**self.runs[i].resource, **self.extra_fields} for i in page]
        metadata = {
            "before": page[0] if page and after else None,
            "after": page[-1] if more else None,
        }
        return _json(200, {"data": data, "list_metadata": metadata})

    def _answer(self, status: int, resource: Json) -> httpx.Response:
        return _json(status, {**resource, **self.extra_fields})


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def _advance(run: _Run, status: str) -> None:
    run.resource["status"] = status
    if status == "completed":
        run.resource["output"] = run.decision
        run.resource["consensus"] = {"choices": [], "likelihoods": None}
        run.resource["usage"] = {"credits": 1.0}


def _text_of(url: str) -> str:
    """The document's text, for a data URL; nothing for a URL the fake cannot fetch."""
    if not url.startswith("data:"):
        return ""
    try:
        return base64.b64decode(url.partition(",")[2]).decode("utf-8", errors="ignore")
    except (binascii.Error, ValueError):
        return ""


def _decide(text: str, categories: list[Json]) -> Json:
    """The first category whose name occurs in the text, else the first: deterministic."""
    lowered = text.lower()
    named = next((c for c in categories if c["name"].lower() in lowered), None)
    if named is not None:
        return {"reasoning": f"The document mentions {named['name']!r}.", "category": named["name"]}
    first = categories[0]["name"] if categories else ""
    return {"reasoning": f"No category is named; {first!r} is the first.", "category": first}


def _file_ref(filename: str, url: str) -> Json:
    """The FileRef Retab reports: `file_` + 16 hex of BLAKE2b of the content (SDK MIMEData.id)."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        content = base64.b64decode(payload)
        mime = header.removeprefix("data:").split(";", 1)[0]
    else:
        content = url.encode("utf-8")
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    digest = hashlib.blake2b(content, digest_size=8).hexdigest()
    return {"id": f"file_{digest}", "filename": filename, "mime_type": mime}
