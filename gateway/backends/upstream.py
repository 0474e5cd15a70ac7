"""One vendor API behind a backend: its pooled client, its key, and what its failures mean.

Building a request is apart from sending it (a built request can be checked with no network).
`send` is the one place httpx exceptions are caught; they and every non-2xx answer become the
`UpstreamError`s of gateway/errors.py, which each surface renders in its own dialect. Every
answer is read, or relayed, only once crosswalk's secrets are scrubbed from it (scrub.py).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import msgspec
import structlog

from gateway.backends.answers import key_refused
from gateway.backends.base import Query
from gateway.backends.scrub import Scrubber
from gateway.config import Secret, VendorBackendConfig
from gateway.context import CallContext
from gateway.errors import (
    Unauthorized,
    UpstreamError,
    UpstreamFailed,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from mappings import canonical
from mappings.dialects import Dialect
from mappings.errors import TranslationError
from mappings.nesting import JsonDecoder

T = TypeVar("T")
ProblemReader = Callable[[int, bytes], canonical.Problem]
HeaderMaker = Callable[[CallContext], Mapping[str, str]]  # what the vendor needs on every call
log = structlog.get_logger("crosswalk.upstream")
# a vendor asking for a longer wait than a day is not giving a hint anyone can follow
MAX_RETRY_AFTER = 86_400
_SECONDS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also takes "²"
_MILLIS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


def open_client(
    config: VendorBackendConfig, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """The pooled client a vendor backend keeps for the app's life."""
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.AsyncClient(
        base_url=config.base_url.rstrip("/"),
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
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
        key: Secret | None,
        read_problem: ProblemReader,
        headers: HeaderMaker = lambda call: {},
        scrubber: Scrubber | None = None,
    ) -> None:
        self.backend = backend
        self.dialect = dialect
        self._client = client
        self._key = key
        self._read_problem = read_problem
        self._headers = headers
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
        """A client's request relayed as it came, but for auth: the answer whatever its status."""
        extra = {"content-type": "application/json"} if content else {}
        request = self.build(
            method, path, call=call, params=list(params), content=content, headers=extra
        )
        return self._scrubber.response(await self.send_raw(request))

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The vendor's 2xx answer; anything else raises an UpstreamError."""
        response = self._scrubber.response(await self.send_raw(request))
        if response.is_success:
            return response
        raise self.failure(response)

    async def send_raw(self, request: httpx.Request) -> httpx.Response:
        """The vendor's answer whatever its status; transport failures raise UpstreamError."""
        started = time.perf_counter()
        outcome: int | str = "error"
        try:
            response = await self._client.send(request)
            outcome = response.status_code
            return response
        except httpx.TimeoutException:
            outcome = "timeout"
            raise UpstreamTimeout(f"{self._who} did not answer in time.") from None
        except httpx.TransportError as exc:
            outcome = "unreachable"
            raise UpstreamUnreachable(
                f"{self._who} could not be reached ({type(exc).__name__})."
            ) from None
        finally:
            # the request's own summary line (gateway/middleware.py) names the last upstream call
            structlog.contextvars.bind_contextvars(backend=self.backend, upstream_status=outcome)
            # method, path and status only: never headers (keys) or bodies (documents)
            log.info(
                "upstream.call",
                backend=self.backend,
                method=request.method,
                path=request.url.path,
                upstream_status=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )

    def failure(self, response: httpx.Response) -> UpstreamError:
        """The error a non-2xx vendor answer becomes (contracts.md §7, hazard 26)."""
        status = response.status_code
        if status in (401, 403) and not self.proxies_client_keys:
            return key_refused(self.backend, self.dialect, status)  # not the client's key
        problem = self._read_problem(status, response.content)
        if status >= 500:
            return UpstreamFailed(f"{self._who} failed (HTTP {status}): {problem.message}")
        return UpstreamRejected(
            problem.message,
            status=status,
            code=problem.code,
            # the vendor's own verdict: a 429 (or Extend's 408/409) may be retried, a 400 not
            retryable=problem.retryable,
            details=problem.details,
            fields=problem.fields,
            headers=_retry_after(response.headers),
        )

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


def _retry_after(headers: httpx.Headers) -> dict[str, str]:
    """`Retry-After` for the client, from the vendor's own or its `retry-after-ms`; a value
    that is neither a whole number of seconds (at most a day) nor an HTTP date is ignored."""
    value = headers.get("retry-after", "").strip()
    if _is_http_date(value):
        return {"retry-after": value}
    millis = headers.get("retry-after-ms", "").strip()
    if _SECONDS.fullmatch(value):
        seconds = int(value)
    elif _MILLIS.fullmatch(millis):
        seconds = math.ceil(float(millis) / 1000)
    else:
        return {}
    return {"retry-after": str(seconds)} if seconds <= MAX_RETRY_AFTER else {}


def _is_http_date(value: str) -> bool:
    """True for an HTTP date (RFC 9110 §10.2.3), the other form `Retry-After` may take."""
    if not value.isascii():
        return False
    try:
        return parsedate_to_datetime(value).tzinfo is not None
    except (TypeError, ValueError, OverflowError):
        return False
