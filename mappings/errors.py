"""Errors raised by the pure translation layer."""

from __future__ import annotations


class UnsupportedFeature(Exception):
    """A request or response uses something the target model cannot express.

    `field` is the exact wire path in the caller's dialect
    (e.g. `config.advancedOptions.pageRanges`),
    so the error shown to a client names what to change.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(Exception):
    """An id that cannot name any run: malformed, or of a form this gateway never issues."""

    def __init__(self, public_id: str) -> None:
        super().__init__(f"no run has the id {public_id!r}")
        self.public_id = public_id


class InvalidInput(Exception):
    """A well-formed request whose content is invalid (duplicate category ids, a malformed
    data URL, no document). `field` is the wire path in the caller's own dialect."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
