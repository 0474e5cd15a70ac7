"""Errors raised by the pure translation layer."""

from __future__ import annotations

from typing import Literal

Location = Literal["body", "query"]


class TranslationError(Exception):
    """A client's message that cannot be translated as it is.

    `field` is the exact wire path in the caller's dialect (e.g.
    `config.advancedOptions.pageRanges`), so the error shown to a client names what to change;
    `location` says whether it is in the body or the query string; `status` is the vendor's own
    status for this refusal when it differs from its dialect's usual one (None otherwise).
    """

    def __init__(
        self, field: str, reason: str, *, location: Location = "body", status: int | None = None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.location: Location = location
        self.status = status


class UnsupportedFeature(TranslationError):
    """A request or response uses something the target model cannot express."""


class InvalidInput(TranslationError):
    """A well-formed request whose content is invalid (duplicate category ids, a malformed
    data URL, no document, a query parameter out of range)."""


class NotFound(Exception):
    """An id that cannot name any run: malformed, or of a form this gateway never issues."""

    def __init__(self, public_id: str) -> None:
        super().__init__(f"no run has the id {public_id!r}")
        self.public_id = public_id
