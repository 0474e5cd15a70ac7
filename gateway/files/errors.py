"""The file store's errors, in the gateway's one error tree (`gateway/errors.py`)."""

from __future__ import annotations

from gateway.errors import CrosswalkError


class FileNotFound(CrosswalkError):
    """An unknown file id, or another owner's file: the two look the same."""

    status = 404
    code = "NOT_FOUND"


class LinkRefused(CrosswalkError):
    """A download link whose signature does not check out, or that has expired."""

    status = 403
    code = "FORBIDDEN"
