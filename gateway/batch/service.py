"""Batch runs for the Extend surface: create, read, and the listing of a relayed batch's runs.

A batch goes to the Extend surface's routing target; under a `[routing] split`, each input
to the backend its own document picks (gateway/routing.py), its backend kept with it, and a
batch whose inputs all pick one backend goes there whole. Relayed as one call when that is an
Extend backend and the classifier is Extend's own (not one of crosswalk's config, which Extend
does not know) and no input names a file of crosswalk's store; recorded then by its owner,
backend and Extend's id, so reads relay for its owner only; the runs Extend made for it are
recorded as its owner's when the owner lists them (`PassThrough.adopt`). Any other batch is
checked whole, its classifier resolved once, then recorded with every input in one
transaction before the client hears of it; batch workers create its runs (worker.py). A
backend that forwards each client's own key cannot be used with no client there: such a
batch is refused, unless it can be relayed.
"""

from __future__ import annotations

import contextlib
import secrets

import anyio
import httpx
from litestar.datastructures import MultiDict

from gateway.backends import answers
from gateway.backends.base import Backend, Relay
from gateway.batch.inputs import BatchInputs, encoded, resolved
from gateway.classifiers import Catalog
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import InvalidRequest, RunNotFound
from gateway.routing import Routing
from gateway.service.decoding import decode_body, translation_error
from gateway.service.outcome import Page, Relayed
from gateway.service.relay import PassThrough
from gateway.store.base import BatchLedger, DuplicateBatch
from gateway.store.batch_records import BatchRecord
from mappings import canonical, extend
from mappings.errors import TranslationError
from mappings.extend import batches
from mappings.files import LinkReader, is_crosswalk_file_id
from mappings.shared import is_vendor_id

_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 22  # as Extend's own (examples/extend_classify_runs_batch_response.json)
_EMPTY = Page(items=(), before=None, after=None)


class BatchService:
    """Creates and reads the Extend surface's batches over whichever backend routing picks."""

    def __init__(
        self,
        *,
        ledger: BatchLedger,
        routing: Routing,
        inputs: BatchInputs,
        classifiers: Catalog,
        passthrough: PassThrough,
        own_link: LinkReader | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._ledger = ledger
        self._routing = routing
        self._inputs = inputs
        self._classifiers = classifiers
        self._passthrough = passthrough
        self._own_link = own_link
        self._clock = clock

    async def create(self, call: CallContext, body: bytes) -> canonical.Batch | Relayed:
        """A batch create body as the client sent it. Under a split each input goes to the
        backend its own document picks; a batch whose inputs all pick one backend is then
        served as a batch routed there would be (relayed whole to an Extend backend)."""
        backend = self._routing.for_create("extend")
        requests: tuple[canonical.ClassifyRequest, ...] | None = None
        if self._routing.splits("extend"):
            requests = await self._inputs.check(self._read(body), call)
            picked = tuple(self._routing.for_create("extend", r.document) for r in requests)
            if len({b.name for b in picked}) > 1:
                return await self._fan_out(call, requests, picked)
            backend = picked[0]
        relay = self._relay_of(backend, body)
        if relay is not None:
            return await self._relay_create(backend, relay, body, call)
        if requests is None:
            creates = self._read(body)
            _refuse_proxied(backend)  # before the inputs are read: they cannot help
            requests = await self._inputs.check(creates, call)
        return await self._fan_out(call, requests, (backend,) * len(requests))

    async def _fan_out(
        self,
        call: CallContext,
        requests: tuple[canonical.ClassifyRequest, ...],
        picked: tuple[Backend, ...],
    ) -> canonical.Batch:
        """Record a batch whose runs crosswalk creates, input i on backend `picked[i]`."""
        distinct = {b.name: b for b in picked}
        for backend in distinct.values():
            _refuse_proxied(backend)
        # resolved once per backend, with the client's call: an unknown classifier is refused
        # before the batch is recorded, workers never resolve, and an edit of the classifier
        # later does not reach a batch already accepted
        by_backend = {}
        for name, backend in distinct.items():
            first = await self._classifiers.resolve(requests[0], backend, call=call)
            by_backend[name] = resolved(requests, first)
        now = self._clock()
        batch = BatchRecord(
            id=_new_batch_id(),
            owner=call.principal.owner,
            backend=picked[0].name,
            status=canonical.BatchStatus.pending,
            run_count=len(requests),
            created_at=now,
            updated_at=now,
            forward=call.forward,  # a single create's runs see the workspace header too
        )
        bodies = [encoded(by_backend[b.name][i]) for i, b in enumerate(picked)]
        backends = [b.name for b in picked] if len(distinct) > 1 else []
        recorded = await self._ledger.insert_batch(batch, bodies, backends=backends)
        return recorded.canonical()

    async def get(self, call: CallContext, batch_id: str) -> canonical.Batch | Relayed:
        """The caller's batch, with its status now; a relayed one as its vendor answers."""
        batch = await self._ledger.get_batch(call.principal.owner, batch_id)
        if batch is None:
            raise RunNotFound(batches.batch_not_found_message(batch_id))
        if batch.upstream_id is None:
            return batch.canonical()
        backend, relay = self._relayed_by(batch)
        path = f"{batches.BATCH_RUNS_PATH}/{batch.upstream_id}"
        answer = await _forward(backend, relay, "GET", path, call)
        return Relayed(answer=answer, backend=backend.name)

    async def runs(self, call: CallContext, params: MultiDict[str]) -> Page | Relayed | None:
        """`GET /classify_runs?batchId=` of a relayed batch of the caller's, as its vendor
        answers, its runs recorded as the caller's; an empty page for a batch of the ledger's
        whose runs `source`/`sourceId` exclude; None for any other listing (the ledger's)."""
        batch_id = params.get("batchId")
        if not batch_id:
            return None
        batch = await self._ledger.get_batch(call.principal.owner, batch_id)
        if batch is None:
            return None
        if batch.upstream_id is None:
            return None if batches.source_keeps(params, batch.id) else _EMPTY
        backend, relay = self._relayed_by(batch)
        # the one batch the caller owns, whatever else the query repeats
        query = [(k, v) for k, v in params.multi_items() if k != "batchId"]
        query.append(("batchId", batch.upstream_id))
        answer = await _forward(backend, relay, "GET", extend.RUNS_PATH, call, query=query)
        if answer.is_success:
            listed = batches.listed_runs(answer.content)
            await self._passthrough.adopt(backend, listed, owner=batch.owner, batch_id=batch.id)
        return Relayed(answer=answer, backend=backend.name)

    def _read(self, body: bytes) -> tuple[extend.ClassifyRunCreateRequest, ...]:
        wire = decode_body(body, batches.BatchCreateBody, dialect="extend")
        try:
            return batches.batch_to_creates(wire)
        except TranslationError as exc:
            raise translation_error(exc, "extend") from None

    def _relay_of(self, backend: Backend, body: bytes) -> Relay | None:
        """The backend's relay, when the batch can go to the vendor as it came."""
        if backend.dialect != "extend" or backend.relay is None:
            return None
        if self._classifiers.translates(body):
            return None  # a classifier of crosswalk's config: Extend does not know it
        for file_id, url in batches.named_files(body):
            own = url is not None and self._own_link is not None and self._own_link(url)
            if own or (file_id is not None and is_crosswalk_file_id(file_id)):
                return None  # Extend knows a stored file only by its own copy's id
        return backend.relay

    async def _relay_create(
        self, backend: Backend, relay: Relay, body: bytes, call: CallContext
    ) -> Relayed:
        answer = await _forward(backend, relay, "POST", batches.BATCH_PATH, call, content=body)
        if answer.is_success:
            await self._remember(backend, answer.content, call)
        return Relayed(answer=answer, backend=backend.name)

    async def _remember(self, backend: Backend, content: bytes, call: CallContext) -> None:
        """Record a batch the vendor accepted, so that its owner alone reads it."""
        now = self._clock()
        batch = batches.accepted_batch(content, received_at=now)
        if batch is None or not is_vendor_id(batch.id):
            return  # nothing crosswalk can address again: relayed, not recorded
        record = BatchRecord(
            id=batch.id,
            owner=call.principal.owner,
            backend=backend.name,
            status=batch.status,
            run_count=batch.run_count,
            created_at=batch.created_at,
            updated_at=now,
            upstream_id=batch.id,
        )
        # the batch exists upstream whether or not the client is still there to hear of it;
        # a DuplicateBatch: an id the vendor had given already, whose first owner keeps it
        with anyio.CancelScope(shield=True), contextlib.suppress(DuplicateBatch):
            await self._ledger.insert_batch(record, ())

    def _relayed_by(self, batch: BatchRecord) -> tuple[Backend, Relay]:
        backend = self._routing.backend(batch.backend)
        if backend is None or backend.relay is None:
            raise RunNotFound(batches.batch_not_found_message(batch.id))
        return backend, backend.relay


def _refuse_proxied(backend: Backend) -> None:
    if backend.relay is not None and backend.relay.proxies_client_keys:
        raise InvalidRequest(
            f"Backend {backend.name} forwards each client's own key to its vendor, and a "
            "batch's runs are created after this call returns, with no key to forward: "
            "send each file to POST /classify_runs instead.",
            status=400,
        )


async def _forward(
    backend: Backend,
    relay: Relay,
    method: str,
    path: str,
    call: CallContext,
    *,
    query: list[tuple[str, str]] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """The vendor's answer; a refusal of crosswalk's own key is the operator's to fix."""
    answer = await relay.forward(method, path, call=call, params=query or (), content=content)
    if answer.status_code in (401, 403) and not relay.proxies_client_keys:
        raise answers.key_refused(backend.name, "extend", answer.status_code)
    return answer


def _new_batch_id() -> str:
    return batches.BATCH_ID_PREFIX + "".join(
        secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH)
    )
