"""Same-vendor traffic as a transparent proxy (design.md §4): bytes in, bytes out.

When a surface's client is served by a backend of its own vendor, the request body goes
upstream byte for byte and the vendor's answer comes back byte for byte, so unknown and future
fields survive; only the key is swapped (the backend's own, or the client's for a pure proxy).
Runs are still recorded in the ledger, read leniently from the same bytes, for per-key
scoping; a run that predates crosswalk (no record) is still reachable by its id: migration.
Two answers are not relayed but are the vendor's failure, a 502: a run crosswalk cannot
address (a new one with no usable id, or another run than the one asked for, perhaps another
key's), and a refusal of the key crosswalk holds for the backend (the operator's to fix).
The runs Extend makes for a batch relayed to it are recorded when their owner lists them
(`adopt`), so that they too are read and deleted for that owner only.
A run whose create named a file of crosswalk's store was translated, and is not relayed
later either (`stored.reads_translated`): the vendor's answer names its own copy of the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime

import anyio
import httpx
import msgspec
import structlog

from gateway.backends import answers
from gateway.backends.answers import addressable
from gateway.backends.base import Backend, Query, Relay
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import RunNotFound
from gateway.service import idempotency
from gateway.service.outcome import Relayed
from gateway.service.rules import DialectRules
from gateway.service.stored import reads_translated
from gateway.store.base import DuplicateRun, Ledger
from gateway.store.records import new_record
from mappings import canonical

log = structlog.get_logger("crosswalk.passthrough")


class PassThrough:
    """Relays one dialect's calls to backends of the same vendor, keeping the ledger."""

    def __init__(self, ledger: Ledger, rules: DialectRules, *, clock: Clock = system_clock) -> None:
        self._ledger = ledger
        self._rules = rules
        self._clock = clock

    async def create(
        self,
        backend: Backend,
        relay: Relay,
        path: str,
        body: bytes,
        *,
        call: CallContext,
        request: canonical.ClassifyRequest | None,
    ) -> Relayed:
        """Create upstream; a run the vendor accepted is recorded before the client hears."""
        answer = await self._forward(backend, relay, "POST", path, call=call, content=body)
        run = self._read_run(answer)
        if answer.is_success and run is None:
            # the vendor accepted something crosswalk cannot read: say so, loudly
            log.warning("passthrough.unrecorded", backend=backend.name, path=path)
        if run is not None:
            # a run its client could not address again is not one to record or relay
            answers.check_new_run(backend.name, run.id)
            owner, now = call.principal.owner, self._clock()
            record = new_record(
                backend.name, run, request, surface=call.surface, owner=owner, now=now
            )
            # the run exists upstream whether or not the client is still there to hear of it
            with anyio.CancelScope(shield=True), contextlib.suppress(DuplicateRun):
                await self._ledger.insert(record)  # a DuplicateRun: an id the vendor had given
            await idempotency.run_accepted(run.id)  # relayed: the client knows it by this id
        return Relayed(answer=answer, backend=backend.name)

    async def call(
        self,
        backend: Backend,
        relay: Relay,
        method: str,
        path: str,
        upstream_id: str,
        *,
        call: CallContext,
        query: Query = (),
    ) -> Relayed | None:
        """Get, cancel or delete a run by its native id, keeping the ledger in step; None,
        with nothing sent, for a run that is read translated (`reads_translated`)."""
        record = await self._ledger.find(backend.name, upstream_id)
        if record is not None and record.owner != call.principal.owner:
            raise RunNotFound(self._rules.not_found(upstream_id))  # another key's run
        if reads_translated(record):
            return None
        answer = await self._forward(backend, relay, method, path, call=call, params=query)
        first_seen = None if record is None else record.run.created_at
        run = None if method == "DELETE" else self._read_run(answer, first_seen)
        if run is not None:
            # with or without a record: another run may be another key's
            answers.check_same_run(backend.name, upstream_id, run.id)
        if record is not None and answer.is_success:
            if method == "DELETE":
                await self._ledger.delete(record.owner, backend.name, upstream_id)
            elif run is not None and run != record.run:
                # an unchanged run is not rewritten: most reads are polls of a run that has
                # not moved, and `updated_at` stays the time it last changed
                await self._ledger.update_run(backend.name, upstream_id, run)
        return Relayed(answer=answer, backend=backend.name)

    async def adopt(
        self, backend: Backend, runs: Iterable[bytes], *, owner: str, batch_id: str
    ) -> int:
        """Record the runs a vendor made for a batch it runs itself (each a run's JSON from
        its listing) under the batch's owner, so that reads and deletes of them relay for
        that owner only; a run already recorded is left alone, and one crosswalk cannot
        read or address is skipped. How many were recorded."""
        recorded = 0
        for content in runs:
            run = self._rules.read_run(content, self._clock())
            if run is None or not addressable(backend.name, run.id):
                continue
            if await self._ledger.find(backend.name, run.id) is not None:
                continue
            made = new_record(
                backend.name, run, None, surface=self._rules.dialect, owner=owner, now=self._clock()
            )
            with anyio.CancelScope(shield=True), contextlib.suppress(DuplicateRun):
                await self._ledger.insert(msgspec.structs.replace(made, batch_id=batch_id))
                recorded += 1
        return recorded

    async def list(
        self, backend: Backend, relay: Relay, path: str, *, call: CallContext, query: Query
    ) -> Relayed:
        """The vendor's own listing: only for a pure proxy, whose key the vendor scopes."""
        answer = await relay.forward("GET", path, call=call, params=query)
        return Relayed(answer=answer, backend=backend.name)

    async def _forward(
        self,
        backend: Backend,
        relay: Relay,
        method: str,
        path: str,
        *,
        call: CallContext,
        params: Query = (),
        content: bytes | None = None,
    ) -> httpx.Response:
        """The vendor's answer, unless it refuses the key crosswalk holds for the backend:
        that is the operator's to fix, not a 401 telling the client its own key is wrong."""
        answer = await relay.forward(method, path, call=call, params=params, content=content)
        if answer.status_code in (401, 403) and not relay.proxies_client_keys:
            raise answers.key_refused(backend.name, self._rules.dialect, answer.status_code)
        return answer

    def _read_run(
        self, answer: httpx.Response, first_seen: datetime | None = None
    ) -> canonical.ClassificationRun | None:
        """The run in a vendor's answer; `first_seen`, when the run is recorded, stands in for
        a creation time the vendor left out, as it did when the run was first recorded."""
        if not answer.is_success or not answer.content:
            return None
        return self._rules.read_run(answer.content, first_seen or self._clock())
