"""The dialect service: every run call of one surface, relayed or translated, decided once.

A call whose backend speaks the surface's own dialect is relayed as it came (PassThrough);
any other is translated through the canonical model (RunService), and so is every call about
a run that reads a file of crosswalk's own store (stored.py). The run id is decoded once,
here, by the routing; the ledger is kept either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import structlog
from litestar.datastructures import MultiDict

from gateway.backends.base import Backend, Query, Relay
from gateway.context import CallContext
from gateway.errors import CrosswalkError, InvalidRequest, RunNotFound
from gateway.routing import Located, Routing
from gateway.service import fallback, idempotency
from gateway.service.outcome import Deleted, Outcome, Page, Relayed, Served
from gateway.service.relay import PassThrough
from gateway.service.rules import DialectRules
from gateway.service.runs import RunService
from gateway.service.shadow import Shadows
from gateway.service.stored import StoredFiles, names_stored_file
from gateway.store.records import check_recordable
from mappings import canonical
from mappings.dialects import Dialect
from mappings.notes import Notes

log = structlog.get_logger("crosswalk.routing")

# the headers of a create's answer that say which backends served and were tried; the same
# names as gateway/surfaces/render.py's, which a service does not import
BACKEND_HEADER = "crosswalk-backend"
ATTEMPTS_HEADER = "crosswalk-attempts"

Attempt = Callable[[Backend], Awaitable[Outcome]]  # a create on one backend


class _Untranslatable(Exception):
    """A create body a translating backend cannot take (`error` says why)."""

    def __init__(self, error: CrosswalkError) -> None:
        super().__init__(error.message)
        self.error = error


class DialectService:
    """Serves one surface's run calls over whichever backend routing picks."""

    def __init__(
        self,
        rules: DialectRules,
        *,
        routing: Routing,
        runs: RunService,
        relay: PassThrough,
        translates: Callable[[bytes], bool] = lambda body: False,
        files: StoredFiles | None = None,
        shadows: Shadows | None = None,
    ) -> None:
        self.rules = rules
        self._routing = routing
        self._runs = runs
        self._relay = relay
        self._files = files
        self._own_link = None if files is None else files.own_link
        # a create body the vendor cannot take as it came (one naming a saved classifier of
        # crosswalk's config) is translated even for a same-vendor backend
        self._translates = translates
        self._shadows = shadows

    @property
    def dialect(self) -> Dialect:
        return self.rules.dialect

    async def create(self, call: CallContext, body: bytes, *, path: str) -> Outcome:
        """A create body as the client sent it to `path`, to the backend routing picks for
        its document (a body that cannot be read goes to the default), then to each fallback
        backend while the one before failed before a run existed (fallback.py); the create
        answered is then shadowed (shadow.py)."""
        if (made := idempotency.resuming()) is not None:
            return await self.get(call, made)  # its key's first try made it, then died
        try:
            return await self._create(call, body, path=path)
        except CrosswalkError as exc:
            idempotency.note_failure(exc)  # a run that may exist keeps its key spent
            raise

    async def _create(self, call: CallContext, body: bytes, *, path: str) -> Outcome:
        shadows = self._shadows if self._shadows is not None and self._shadows.configured else None
        # when each backend's attempt began: the side of the one that served starts with its
        # own attempt, not with the failed ones before it
        began: dict[str, datetime] = {}

        def timed(attempt: Callable[[Backend], Awaitable[Outcome]]) -> Attempt:
            if shadows is None:
                return attempt

            async def timed_attempt(backend: Backend) -> Outcome:
                began[backend.name] = shadows.now()
                return await attempt(backend)

            return timed_attempt

        if self._translates(body):
            request, notes = self.rules.read_create(body, path, self._own_link)
            primary = self._backend_for(request)

            async def translated(backend: Backend) -> Outcome:
                return await self._translated(call, request, notes, backend)

            outcome = await self._falling_back(call, primary, timed(translated))
            peeked: canonical.ClassifyRequest | None = request
        else:
            # a shadow needs the create as canonical too: the body is read once, for both
            peeks = self._routing.splits(self.dialect) or shadows is not None
            peeked = self.rules.peek_create(body, path, self._own_link) if peeks else None

            async def attempt(backend: Backend) -> Outcome:
                return await self._create_on(call, backend, body, path, peeked, peeked_ready=peeks)

            outcome = await self._falling_back(call, self._backend_for(peeked), timed(attempt))
        if shadows is not None:
            started_at = began.get(outcome.backend, min(began.values()))
            # a backend this create just failed on is not sent the same document again
            shadows.schedule(call, peeked, outcome, started_at=started_at,
                             read_run=self.rules.read_run, prepare=self._owned,
                             failed_on=began.keys() - {outcome.backend})  # fmt: skip
        return outcome

    async def _create_on(
        self,
        call: CallContext,
        backend: Backend,
        body: bytes,
        path: str,
        peeked: canonical.ClassifyRequest | None,
        *,
        peeked_ready: bool,
    ) -> Outcome:
        """The create on one backend: relayed to a same-vendor one, else translated; a body
        that cannot be translated raises _Untranslatable. `peeked` is the body as read
        already, when `peeked_ready`."""
        relay = self._relay_of(backend)
        if relay is not None:
            peeked = peeked if peeked_ready else self.rules.peek_create(body, path, self._own_link)
            # one that does not read names its stored file all the same: refused, not relayed
            stored = names_stored_file(peeked) or (
                peeked is None and self.rules.names_stored_file(body, self._own_link)
            )
            if not stored:
                if peeked is not None:
                    check_recordable(peeked)
                return await self._relay.create(
                    backend, relay, path, body, call=call, request=peeked
                )
        try:
            request, notes = self.rules.read_create(body, path, self._own_link)
        except InvalidRequest as exc:
            raise _Untranslatable(exc) from None
        return await self._translated(call, request, notes, backend)

    async def _falling_back(self, call: CallContext, primary: Backend, attempt: Attempt) -> Outcome:
        """`attempt` on the primary, then on each fallback backend while the one before
        failed before a run existed; the last backend's answer, or the primary's when a
        fallback cannot take the body or refuses it, with `crosswalk-attempts` when there are
        fallbacks."""
        fallbacks = self._routing.fallbacks(primary)
        if not fallbacks:
            try:
                return await attempt(primary)
            except _Untranslatable as exc:
                raise exc.error from None
        tried: list[tuple[str, str]] = []
        first: Relayed | CrosswalkError | None = None  # the primary's failure
        chain = (primary, *fallbacks)
        for backend, following in zip(chain, (*fallbacks, None), strict=True):
            try:
                outcome = await attempt(backend)
            except _Untranslatable as exc:
                if first is None:
                    raise exc.error from None
                tried.append((backend.name, "untranslatable"))
                return self._answer(first, primary, tried)
            except CrosswalkError as exc:
                tried.append((backend.name, fallback.outcome_of(exc)))
                if first is not None and not fallback.falls_back(exc):
                    # a fallback refusing what the primary would take (another vendor's 4xx,
                    # a feature it lacks) is not the client's error: the primary's is
                    return self._answer(first, primary, tried)
                if following is None or not fallback.falls_back(exc):
                    raise self._told(exc, backend, tried) from None
                first = exc if first is None else first
                self._fell_back(backend, following, tried[-1][1])
                continue
            if isinstance(outcome, Relayed):
                answer = outcome.answer
                tried.append((backend.name, "ok" if answer.is_success else str(answer.status_code)))
                if following is not None and fallback.relayed_falls_back(answer):
                    first = outcome if first is None else first
                    self._fell_back(backend, following, tried[-1][1])
                    continue
            else:
                tried.append((backend.name, "ok"))
            return msgspec.structs.replace(outcome, attempts=fallback.header(tried))
        raise AssertionError("unreachable: the last backend answers")  # pragma: no cover

    def _answer(
        self, failure: Relayed | CrosswalkError, backend: Backend, tried: list[tuple[str, str]]
    ) -> Outcome:
        if isinstance(failure, Relayed):
            return msgspec.structs.replace(failure, attempts=fallback.header(tried))
        raise self._told(failure, backend, tried)

    @staticmethod
    def _told(
        error: CrosswalkError, backend: Backend, tried: list[tuple[str, str]]
    ) -> CrosswalkError:
        """`error` with the headers that say which backends were tried."""
        error.headers = {
            **error.headers,
            BACKEND_HEADER: backend.name,
            ATTEMPTS_HEADER: fallback.header(tried),
        }
        return error

    def _fell_back(self, failed: Backend, following: Backend, outcome: str) -> None:
        log.info(
            "routing.fallback",
            surface=self.dialect,
            backend=failed.name,
            outcome=outcome,
            to=following.name,
        )

    def _backend_for(self, request: canonical.ClassifyRequest | None) -> Backend:
        return self._routing.for_create(self.dialect, None if request is None else request.document)

    async def _translated(
        self, call: CallContext, request: canonical.ClassifyRequest, notes: Notes, backend: Backend
    ) -> Served:
        request = await self._owned(request, call)
        check_recordable(request)
        served = await self._runs.create(request, backend, call=call)
        return msgspec.structs.replace(served, notes=notes + served.notes)

    async def _owned(
        self, request: canonical.ClassifyRequest, call: CallContext
    ) -> canonical.ClassifyRequest:
        """`request` with its stored file checked to be the caller's and named (stored.py)."""
        return request if self._files is None else await self._files.owned(request, call)

    async def get(self, call: CallContext, public_id: str, *, query: Query = ()) -> Outcome:
        """One run; `query` is relayed to a same-vendor backend as it came."""
        located = self._locate(public_id)
        if (relay := self._relay_of(located.backend)) is not None:
            relayed = await self._relayed(relay, located, call, "GET", "", query)
            if relayed is not None:
                return relayed
        return self._found(public_id, await self._runs.get(located, call=call))

    async def cancel(self, call: CallContext, public_id: str) -> Outcome:
        """Cancel a run, with the dialect's semantics for one already finished."""
        located = self._locate(public_id)
        if (relay := self._relay_of(located.backend)) is not None:
            relayed = await self._relayed(relay, located, call, "POST", "/cancel")
            if relayed is not None:
                return relayed
        cancelled = await self._runs.cancel(located, call=call)
        if cancelled is None:
            raise RunNotFound(self.rules.not_found(public_id))
        served, stopped = cancelled
        if not stopped and self.rules.cancel_refused is not None:
            message = self.rules.cancel_refused(served.public_id, served.run.status)
            raise InvalidRequest(message, status=400)
        return served

    async def delete(self, call: CallContext, public_id: str) -> Deleted | Relayed:
        """Delete a run."""
        located = self._locate(public_id)
        if (relay := self._relay_of(located.backend)) is not None:
            relayed = await self._relayed(relay, located, call, "DELETE", "")
            if relayed is not None:
                return relayed
        if not await self._runs.delete(located, call=call):
            raise RunNotFound(self.rules.not_found(public_id))
        return Deleted(public_id=public_id, backend=located.backend.name)

    async def list(self, call: CallContext, params: MultiDict[str]) -> Page | Relayed:
        """The caller's runs; `params` is the query string, relayed as it came."""
        backend = self._routing.for_create(self.dialect)
        relay = self._relay_of(backend)
        if relay is not None and relay.proxies_client_keys:
            # the vendor scopes a pure proxy's listing by the client's own key
            path = self.rules.runs_path
            query = list(params.multi_items())
            return await self._relay.list(backend, relay, path, call=call, query=query)
        canonical_query = self.rules.list_query(params)
        cursor = self._cursor(canonical_query.cursor)
        return await self._runs.list(canonical_query, cursor=cursor, call=call)

    def _relay_of(self, backend: Backend) -> Relay | None:
        """The backend's relay when it speaks this surface's dialect (design.md §4)."""
        return backend.relay if backend.dialect == self.dialect else None

    async def _relayed(
        self,
        relay: Relay,
        located: Located,
        call: CallContext,
        method: str,
        tail: str,
        query: Query = (),
    ) -> Relayed | None:
        """The vendor's answer relayed; None for a run that is read translated."""
        path = f"{self.rules.runs_path}/{located.upstream_id}{tail}"
        upstream_id = located.upstream_id
        return await self._relay.call(
            located.backend, relay, method, path, upstream_id, call=call, query=query
        )

    def _locate(self, public_id: str) -> Located:
        located = self._routing.locate(public_id, self.dialect)
        if located is None:
            raise RunNotFound(self.rules.not_found(public_id))
        return located

    def _found(self, public_id: str, served: Served | None) -> Served:
        if served is None:
            raise RunNotFound(self.rules.not_found(public_id))
        return served

    def _cursor(self, cursor: str | None) -> Located | None:
        if not cursor:
            return None
        located = self._routing.locate(cursor, self.dialect)
        if located is None:
            raise InvalidRequest(f"Unknown pagination cursor {cursor!r}.", status=400)
        return located
