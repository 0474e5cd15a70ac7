"""One vendor API behind a backend: its pooled client, its key, and what its failures mean.

Building a request is apart from sending it (a built request can be checked with no network).
`send_raw` is the one place httpx exceptions are caught: every call has one deadline for the
whole exchange, its answer is read whole but no larger than the backend allows, and a redirect
is never relayed. Those failures and every non-2xx answer become the `UpstreamError`s of
gateway/errors.py, which each surface renders in its own dialect. Every answer is read, or
relayed, only once crosswalk's secrets are scrubbed from it (scrub.py). Idempotent calls are
retried within the call's deadline and the backend's retry budget (retries.py), and every
attempt passes the backend's circuit (circuit.py), which ejects a backend that keeps failing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import msgspec
import structlog

from gateway import metrics, upstream_sends
from gateway.backends import retries
from gateway.backends.answers import key_refused
from gateway.backends.base import Query
from gateway.backends.circuit import Circuit, CircuitState
from gateway.backends.hints import client_hint, hinted_wait
from gateway.backends.pool import ShardedPool
from gateway.backends.retries import RetryBudget
from gateway.backends.scrub import Scrubber
from gateway.config import Secret, VendorBackendConfig
from gateway.context import CallContext
from gateway.errors import (
    CircuitOpen,
    Unauthorized,
    UpstreamError,
    UpstreamFailed,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
    UpstreamUnsent,
)
from mappings import canonical
from mappings.dialects import Dialect
from mappings.errors import TranslationError
from mappings.nesting import JsonDecoder, NestingTooDeep

T = TypeVar("T")
ProblemReader = Callable[[int, bytes], canonical.Problem]
HeaderMaker = Callable[[CallContext], Mapping[str, str]]  # what the vendor needs on every call
# what no longer describes an answer once its body is read and decoded
_ENCODING_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
log = structlog.get_logger("crosswalk.upstream")
MAX_MESSAGE = 500  # of a vendor's message about its own failure, passed on to the client
_any_json = JsonDecoder(object)


def open_client(
    config: VendorBackendConfig, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """The pooled client a vendor backend keeps for the app's life: `config.max_connections`
    connections, every one kept alive (pool.py), unless a transport is given (tests)."""
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.AsyncClient(
        base_url=config.base_url.rstrip("/"),
        transport=transport or ShardedPool(config.max_connections),
        timeout=timeout,
        follow_redirects=False,  # a redirect is the vendor's failure (send_raw): a 502
    )


class Upstream:
    """Sends requests to one vendor as `backend`, with the right key and nothing else; the
    `Relay` of same-vendor pass-through."""

    def __init__(
        self,
        backend: str,
        *,
        dialect: Dialect,
        client: httpx.AsyncClient,
        config: VendorBackendConfig,
        key: Secret | None,
        read_problem: ProblemReader,
        headers: HeaderMaker = lambda call: {},
        scrubber: Scrubber | None = None,
    ) -> None:
        self.backend = backend
        self.dialect = dialect
        self._client = client
        self._call_timeout = config.call_timeout
        self._max_bytes = config.max_response_bytes
        self._key = key
        self._read_problem = read_problem
        self._headers = headers
        self._retries = config.retries
        # a retry with less time left than a connection may take is doomed: answer now instead
        self._retry_floor = max(retries.MIN_RETRY_TIME, config.connect_timeout)
        self._budget = RetryBudget()
        self._circuit = Circuit(
            backend, failures=config.circuit_failures, cooldown=config.circuit_cooldown
        )
        self._random = random.Random()
        # with none given, it still scrubs the key each request carried
        self._scrubber = scrubber or Scrubber()

    @property
    def proxies_client_keys(self) -> bool:
        """True when crosswalk holds no key for this vendor and forwards the client's."""
        return self._key is None

    def build(
        self,
        method: str,
        path: str,
        *,
        call: CallContext,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Request:
        """A request to the vendor authenticated with the key this call may spend."""
        all_headers = {
            "authorization": f"Bearer {self._key_for(call)}",
            **self._headers(call),
            **(headers or {}),
        }
        return self._client.build_request(method, path, headers=all_headers, **kwargs)

    def _key_for(self, call: CallContext) -> str:
        if self._key is not None:
            return self._key.reveal()
        # a pure proxy: the client's own key, and only ever to its own vendor (design.md §6)
        if call.surface != self.dialect:
            raise Unauthorized(
                f"Backend {self.backend} has no {self.dialect} key of its own and cannot serve "
                f"{call.surface} clients.",
                status=401,
            )
        return call.principal.key.reveal()

    async def forward(
        self,
        method: str,
        path: str,
        *,
        call: CallContext,
        params: Query = (),
        content: bytes | None = None,
    ) -> httpx.Response:
        """A client's request relayed as it came, but for auth: the vendor's answer, unless
        its SDK could not read it (a 2xx or a 5xx that is not JSON: an HTML page, a proxy's
        text, a truncated or empty body) or it is a 500, which clients must only ever get for
        crosswalk's own bugs: those raise UpstreamFailed, a 502 in the caller's dialect."""
        extra = {"content-type": "application/json"} if content else {}
        request = self.build(
            method, path, call=call, params=list(params), content=content, headers=extra
        )
        response = self._scrubber.response(await self.send_raw(request))
        status = response.status_code
        if status == 500 or (status > 500 and not _is_json(response.content)):
            raise self.failure(response)
        if response.is_success and method != "DELETE" and not _is_json(response.content):
            raise UpstreamFailed(f"{self._who} sent a response that is not JSON.")
        return response

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The vendor's 2xx answer; anything else raises an UpstreamError."""
        response = self._scrubber.response(await self.send_raw(request))
        if response.is_success:
            return response
        raise self.failure(response)

    async def send_raw(self, request: httpx.Request) -> httpx.Response:
        """The vendor's answer whatever its status, read whole within the call's deadline;
        transport failures, a missed deadline, an oversized answer, a redirect and an open
        circuit raise UpstreamError. An idempotent call (or a delete surely not done) is retried
        (retries.py) while its deadline, its backend's retry budget and a closed circuit allow."""
        method, path = request.method, request.url.path
        retrying = self._retries > 0 and retries.retried(method, path, self.dialect)
        idempotent = retries.idempotent(method, path, self.dialect)
        self._budget.called()
        deadline = time.monotonic() + self._call_timeout
        retry = 0
        while True:
            # the request's summary line tells how many tries its last upstream call took
            structlog.contextvars.bind_contextvars(upstream_attempts=retry + 1)
            try:
                response = await self._attempt(request, deadline, first=retry == 0)
            except UpstreamError as exc:
                if not retrying or not retries.retried_failure(exc, idempotent=idempotent):
                    raise
                wait = self._retry_wait(retry, None, deadline)
                if wait is None:
                    raise
            else:
                if not retrying or response.status_code not in retries.RETRIED_STATUSES:
                    return response
                wait = self._retry_wait(retry, hinted_wait(response.headers), deadline)
                if wait is None:
                    return response
            retry += 1
            metrics.upstream_retried(self.backend)
            log.info("upstream.retry", backend=self.backend, retry=retry, wait_s=round(wait, 3))
            await asyncio.sleep(wait)

    def circuit_state(self) -> CircuitState:
        """The backend's circuit, as the next call would meet it."""
        return self._circuit.state()

    def _retry_wait(self, retry: int, hint: float | None, deadline: float) -> float | None:
        """The wait before retry number `retry`, or None when the call is not retried."""
        if retry >= self._retries or self._circuit.state() != "closed":
            return None
        remaining = deadline - time.monotonic()
        wait = retries.wait_before(retry, hint, remaining, self._random, self._retry_floor)
        if wait is None or not self._budget.spend():
            return None
        return wait

    async def _attempt(
        self, request: httpx.Request, deadline: float, *, first: bool = True
    ) -> httpx.Response:
        """One exchange, admitted by the circuit and bounded by what is left of the deadline;
        its outcome is logged, timed (metrics) and told to the circuit. A retry (not `first`)
        cut short by the call's deadline tells the circuit nothing: it had only what the
        attempts before it left, and its vendor may not be slow by the backend's own bounds."""
        try:
            probe = self._circuit.enter()
        except CircuitOpen:
            # nothing sent: the request's summary line says why
            structlog.contextvars.bind_contextvars(backend=self.backend, upstream_status="open")
            raise
        started = time.perf_counter()
        outcome: int | str = "error"
        failed: bool | None = None  # None: no outcome (cancelled), which decides nothing
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                upstream_sends.sending()  # a create under a key may now have made a run
                response = await self._exchange(request)
            outcome = response.status_code
            failed = response.status_code >= 500
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # before any byte was sent: a create may be retried without making a run twice
            late = isinstance(exc, httpx.TimeoutException)
            outcome, failed = "timeout" if late else "unreachable", True
            raise UpstreamUnsent(
                f"{self._who} could not be reached ({type(exc).__name__}).",
                status=504 if late else None,
                code="TIMEOUT" if late else None,
            ) from None
        except httpx.TimeoutException:
            outcome, failed = "timeout", True
            raise UpstreamTimeout(f"{self._who} did not answer in time.") from None
        except TimeoutError:  # the call's own deadline (asyncio.timeout above)
            outcome, failed = "timeout", (True if first else None)
            raise UpstreamTimeout(f"{self._who} did not answer in time.") from None
        except httpx.TransportError as exc:
            outcome, failed = "unreachable", True
            raise UpstreamUnreachable(
                f"{self._who} could not be reached ({type(exc).__name__})."
            ) from None
        except httpx.RequestError as exc:
            # it answered, but not in HTTP its client can read (a corrupt content-encoding)
            outcome, failed = "unreadable", True
            raise UpstreamFailed(
                f"{self._who} sent a response crosswalk cannot read ({type(exc).__name__})."
            ) from None
        except _TooLarge:
            outcome, failed = "too_large", False  # it answered: the backend is up
            raise UpstreamFailed(
                f"{self._who} sent a response larger than {self._max_bytes} bytes.",
                retryable=False,
            ) from None
        finally:
            seconds = time.perf_counter() - started
            if failed is None:
                self._circuit.release(probe=probe)
            else:
                self._circuit.record(failed=failed, probe=probe)
            metrics.upstream_called(
                self.backend, str(outcome) if isinstance(outcome, int) else "error", seconds
            )
            # the request's own summary line (gateway/middleware.py) names the last upstream call
            structlog.contextvars.bind_contextvars(backend=self.backend, upstream_status=outcome)
            # method, path and status only: never headers (keys) or bodies (documents)
            log.debug(  # the request's own line at INFO names it already
                "upstream.call",
                backend=self.backend,
                method=request.method,
                path=request.url.path,
                upstream_status=outcome,
                duration_ms=round(seconds * 1000, 2),
            )
        if 300 <= response.status_code < 400:
            # never followed (its target is unchecked) nor relayed (clients would be sent
            # elsewhere, or get a bare 3xx their SDK cannot read)
            raise UpstreamFailed(
                f"{self._who} answered with a redirect (HTTP {response.status_code}), which "
                "crosswalk does not follow.",
                retryable=False,
            )
        return response

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send and read the whole answer; its connection goes back to the pool whatever
        happens, a cancellation included."""
        response = await self._client.send(request, stream=True)
        try:
            body = await self._body(response)
        finally:
            await response.aclose()
        # as raw bytes: a vendor's header need not be ASCII, and must not fail the call
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in _ENCODING_HEADERS
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    async def _body(self, response: httpx.Response) -> bytes:
        """The answer's decoded body; reading stops as soon as it passes the bound."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def failure(self, response: httpx.Response) -> UpstreamError:
        """The error a non-2xx vendor answer becomes (contracts.md §7, hazard 26)."""
        status = response.status_code
        if status in (401, 403) and not self.proxies_client_keys:
            return key_refused(self.backend, self.dialect, status)  # not the client's key
        problem = self._read_problem(status, response.content)
        error: UpstreamError
        if status >= 500:
            error = UpstreamFailed(
                f"{self._who} failed (HTTP {status}){_said(response, problem)}",
                headers=client_hint(response.headers),  # a 503's hint is the client's too
            )
            error.upstream_status = status
            return error
        error = UpstreamRejected(
            problem.message,
            status=status,
            code=problem.code,
            # the vendor's own verdict: a 429 (or Extend's 408/409) may be retried, a 400 not
            retryable=problem.retryable,
            details=problem.details,
            fields=problem.fields,
            headers=client_hint(response.headers),
        )
        error.upstream_status = status
        return error

    def decode(self, response: httpx.Response, decoder: JsonDecoder[T]) -> T:
        """A 2xx body as its wire Struct; an unreadable one is the vendor's failure, a 502."""
        try:
            return decoder.decode(response.content)
        except msgspec.DecodeError as exc:
            raise UpstreamFailed(
                f"{self._who} sent a response crosswalk cannot read: {exc}"
            ) from None

    def untranslatable(self, exc: TranslationError) -> UpstreamError:
        """A vendor answer no dialect can express (an unknown status): its fault, a 502."""
        return UpstreamFailed(
            f"{self._who} sent a run crosswalk cannot translate: {exc.field}: {exc.reason}"
        )

    @property
    def _who(self) -> str:
        return f"The upstream {self.dialect} API (backend {self.backend})"


def _is_json(content: bytes) -> bool:
    try:
        _any_json.decode(content)
    except NestingTooDeep:
        return True  # too deep to read, not unreadable: a relay passes it on as it came
    except msgspec.DecodeError:
        return False
    return True


def _said(response: httpx.Response, problem: canonical.Problem) -> str:
    """The vendor's own message about its failure, cut short; not an HTML page, which may
    hold anything (a whole site's markup, a framework's stack trace)."""
    html = "html" in response.headers.get("content-type", "")
    if html or response.content.lstrip().startswith(b"<"):
        return "."
    return f": {problem.message[:MAX_MESSAGE]}"


class _TooLarge(Exception):
    """An answer past the backend's `max_response_bytes`, its read abandoned."""
