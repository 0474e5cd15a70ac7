"""Same-vendor traffic as a transparent proxy (design.md §4): bytes in, bytes out.

When a surface's client is served by a backend of its own vendor, the request body goes
upstream byte for byte and the vendor's answer comes back byte for byte, so unknown and future
fields survive; only the key is swapped (the backend's own, or the client's for a pure proxy).
Runs are still recorded in the ledger, read leniently from the same bytes, for per-key
scoping; a run that predates crosswalk (no record) is still reachable by its id: migration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import msgspec
import structlog
from litestar import Response

from gateway.backends.base import CallContext, Forwarding
from gateway.errors import RunNotFound
from gateway.runs import not_found_message
from gateway.store.base import DuplicateRun, Ledger
from gateway.store.records import new_record
from mappings import canonical, extend, retab
from mappings.dialects import Dialect
from mappings.errors import InvalidInput, UnsupportedFeature

BACKEND_HEADER = "crosswalk-backend"
# what a vendor's answer carries that its SDK reads (request ids, rate-limit hints)
RELAYED_HEADERS = (
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-request-id",
    "x-extend-request-id",
)
Query = Sequence[tuple[str, str]]
log = structlog.get_logger("crosswalk.passthrough")


class PassThrough:
    """Relays one surface's calls to a backend of the same vendor, keeping the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def create(
        self,
        backend: Forwarding,
        path: str,
        body: bytes,
        *,
        call: CallContext,
        request: canonical.ClassifyRequest | None,
    ) -> Response[bytes]:
        """Create upstream; a run the vendor accepted is recorded before the client hears."""
        answer = await backend.upstream.forward("POST", path, call=call, content=body)
        if not answer.is_success:
            return relayed(answer, backend.name)
        run = _read_run(call.surface, answer)
        if run is None:
            # the vendor accepted something crosswalk cannot read: say so, loudly
            log.warning("passthrough.unrecorded", backend=backend.name, path=path)
            return relayed(answer, backend.name)
        owner, now = call.principal.owner, datetime.now(UTC)
        surface: Dialect = "retab" if call.surface == "retab" else "extend"  # as _read_run does
        record = new_record(backend.name, run, request, surface=surface, owner=owner, now=now)
        with contextlib.suppress(DuplicateRun):  # the vendor answered an id it had already given
            await self._ledger.insert(record)
        return relayed(answer, backend.name)

    async def call(
        self,
        backend: Forwarding,
        method: str,
        path: str,
        upstream_id: str,
        *,
        call: CallContext,
        query: Query = (),
    ) -> Response[bytes]:
        """Get, cancel or delete a run by its native id, keeping the ledger in step."""
        record = await self._ledger.find(backend.name, upstream_id)
        if record is not None and record.owner != call.principal.owner:
            raise RunNotFound(not_found_message(upstream_id, call.surface))  # another key's run
        answer = await backend.upstream.forward(method, path, call=call, params=query)
        if record is not None and answer.is_success:
            if method == "DELETE":
                await self._ledger.delete(record.owner, backend.name, upstream_id)
            elif (run := _read_run(call.surface, answer)) is not None:
                await self._ledger.update_run(backend.name, upstream_id, run)
        return relayed(answer, backend.name)

    async def list(
        self, backend: Forwarding, path: str, *, call: CallContext, query: Query
    ) -> Response[bytes]:
        """The vendor's own listing: only for a pure proxy, whose key the vendor scopes."""
        answer = await backend.upstream.forward("GET", path, call=call, params=query)
        return relayed(answer, backend.name)


def relayed(answer: httpx.Response, backend: str) -> Response[bytes]:
    """The vendor's answer as the client's response: status, body and the headers SDKs read."""
    headers = {name: answer.headers[name] for name in RELAYED_HEADERS if name in answer.headers}
    headers[BACKEND_HEADER] = backend
    media_type = headers.pop("content-type", None)
    return Response(
        content=answer.content,
        status_code=answer.status_code,
        headers=headers,
        media_type=media_type,
    )


def _read_run(dialect: str, answer: httpx.Response) -> canonical.ClassificationRun | None:
    """The run in a vendor's answer, for the ledger; None when it holds none we can read."""
    if not answer.is_success or not answer.content:
        return None
    received = datetime.now(UTC)
    try:
        if dialect == "retab":
            cls = retab.classification_decoder.decode(answer.content)
            return retab.response_to_canonical(cls, received_at=received)[0]
        run = extend.run_decoder.decode(answer.content)
        return extend.response_to_canonical(run, received_at=received)[0]
    except (msgspec.DecodeError, UnsupportedFeature, InvalidInput):
        return None
