"""One error tree for everything that can go wrong while serving a request.

Code raises what went wrong; each surface alone decides how it looks to its clients
(`gateway/surfaces/render.py`)::

    CrosswalkError              status   code
    ├─ InvalidRequest           400/422  INVALID_REQUEST   bad body, query or header
    ├─ Unauthorized             401      UNAUTHORIZED      missing or unknown gateway key
    ├─ RunNotFound              404      NOT_FOUND         unknown or malformed run id
    ├─ RouteNotFound            404/405  NOT_FOUND         no such path or method
    ├─ PayloadTooLarge          413      PAYLOAD_TOO_LARGE body over the configured limit
    ├─ GatewayTimeout           504      TIMEOUT           a sync run past its deadline
    ├─ UpstreamError                                       the vendor behind a backend failed
    │  ├─ UpstreamRejected      4xx      vendor's code     it said no: status class and message kept
    │  ├─ UpstreamFailed        502      UPSTREAM_ERROR    it answered 5xx, or nonsense
    │  ├─ UpstreamUnreachable   502      UPSTREAM_ERROR    no connection could be made
    │  │  └─ UpstreamUnsent     502/504  UPSTREAM_ERROR    surely nothing reached it
    │  │     └─ CircuitOpen     503      UNAVAILABLE       the backend is ejected for a cool-down
    │  └─ UpstreamTimeout       504      TIMEOUT           it did not answer in time
    ├─ StoreUnavailable         503      UNAVAILABLE       the ledger's database is out of reach
    └─ InternalError            500      INTERNAL_ERROR    a bug; logged, never detailed
    TranslationError (mappings/errors.py: UnsupportedFeature, InvalidInput) becomes an
    InvalidRequest in the caller's dialect (gateway/service/decoding.py).
"""

from __future__ import annotations

from typing import Any

from mappings import canonical


class CrosswalkError(Exception):
    """Base of every error the gateway renders for a client."""

    status = 500
    code = "INTERNAL_ERROR"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool | None = None,
        details: dict[str, Any] | None = None,
        fields: tuple[canonical.FieldProblem, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        """Every field is set here; the class's own values stand where an argument is None."""
        super().__init__(message)
        self.message = message
        self.status = type(self).status if status is None else status
        self.code = type(self).code if code is None else code
        self.retryable = type(self).retryable if retryable is None else retryable
        self.details = details
        self.fields = fields
        self.headers = headers or {}  # response headers the error needs (Allow, Retry-After)

    def problem(self) -> canonical.Problem:
        """The neutral description a dialect renders."""
        return canonical.Problem(
            status=self.status,
            code=self.code,
            message=self.message,
            retryable=self.retryable,
            details=self.details,
            fields=self.fields,
        )


class InvalidRequest(CrosswalkError):
    status = 422
    code = "INVALID_REQUEST"


class Unauthorized(CrosswalkError):
    status = 401
    code = "UNAUTHORIZED"


class RunNotFound(CrosswalkError):
    status = 404
    code = "NOT_FOUND"


class RouteNotFound(CrosswalkError):
    status = 404
    code = "NOT_FOUND"


class PayloadTooLarge(CrosswalkError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class GatewayTimeout(CrosswalkError):
    status = 504
    code = "TIMEOUT"
    retryable = True


class UpstreamError(CrosswalkError):
    """The vendor behind a backend failed."""

    status = 502
    code = "UPSTREAM_ERROR"
    retryable = True
    upstream_status: int | None = None  # the vendor's HTTP status, when it answered one
    run_made = False  # raised once the vendor accepted a run: a create is not sent elsewhere


class UpstreamRejected(UpstreamError):
    """The vendor refused the request (4xx): its status and message reach the client."""

    retryable = False


class UpstreamFailed(UpstreamError):
    pass


class UpstreamUnreachable(UpstreamError):
    pass


class UpstreamUnsent(UpstreamUnreachable):
    """No byte of the request reached the vendor (connection refused, DNS, a connect or pool
    timeout): nothing was made there, so a create may be sent again (contracts.md §9)."""


class CircuitOpen(UpstreamUnsent):
    """The backend failed repeatedly and is out of service for a cool-down
    (gateway/backends/circuit.py): nothing was sent, so a create may fall back elsewhere."""

    status = 503
    code = "UNAVAILABLE"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "TIMEOUT"


class StoreUnavailable(CrosswalkError):
    """The ledger's database could not be reached for now (gateway/store/outage.py): nothing
    about the request was wrong, and it may be sent again after Retry-After."""

    status = 503
    code = "UNAVAILABLE"
    retryable = True


class InternalError(CrosswalkError):
    status = 500
    code = "INTERNAL_ERROR"
    retryable = True
