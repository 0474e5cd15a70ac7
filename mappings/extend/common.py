"""Small value translations shared by the Extend mappings: timestamps, statuses, file types
and synthesised category ids. Imports only the stdlib, msgspec and `mappings`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import msgspec

from mappings import canonical
from mappings.errors import UnsupportedFeature
from mappings.shared import UNKNOWN_MIME, fresh_name

STATUS_TO_CANONICAL = {
    "PENDING": canonical.Status.pending,
    "PROCESSING": canonical.Status.running,
    "CANCELLING": canonical.Status.running,  # transient, non-terminal (contracts.md §12 #10)
    "PROCESSED": canonical.Status.completed,
    "FAILED": canonical.Status.failed,
    "CANCELLED": canonical.Status.cancelled,
}

# `queued` answers PROCESSING, not hazard 15's PENDING: Extend's async create itself answers
# PROCESSING (contracts.md §5, §6), so a queued run looks exactly like a fresh Extend run.
STATUS_FROM_CANONICAL = {
    canonical.Status.pending: "PENDING",
    canonical.Status.queued: "PROCESSING",
    canonical.Status.running: "PROCESSING",
    canonical.Status.completed: "PROCESSED",
    canonical.Status.failed: "FAILED",
    canonical.Status.cancelled: "CANCELLED",
}

# the wire statuses Extend's own poller waits on (contracts.md §6); any other ends a wait,
# even one not known yet
UNFINISHED_STATUSES = frozenset({"PENDING", "PROCESSING", "CANCELLING"})


def status_to_canonical(status: str, *, field: str = "status") -> canonical.Status:
    """An Extend run status as canonical; an unknown one cannot be reported in either dialect."""
    try:
        return STATUS_TO_CANONICAL[status]
    except KeyError:
        raise UnsupportedFeature(field, f"unknown Extend run status {status!r}") from None


def parse_timestamp(value: str, *, field: str) -> datetime:
    """An Extend ISO 8601 timestamp as an aware datetime (naive ones are read as UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UnsupportedFeature(field, f"{value!r} is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)  # a run's timestamps are rendered again on every poll
def format_timestamp(value: datetime) -> str:
    """A datetime as Extend writes them: UTC, millisecond precision, `Z` suffix."""
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    # msgspec writes RFC 3339 (`…:SSZ` or `…:SS.ffffffZ`) some ten times faster than isoformat
    text = _encode_timestamp(value)[1:-2].decode()
    seconds, _, fraction = text.partition(".")
    return f"{seconds}.{(fraction + '000')[:3]}Z"


_encode_timestamp = msgspec.json.encode


_TYPE_BY_MIME = {
    "application/pdf": "PDF",
    "text/plain": "TXT",
    "text/csv": "CSV",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/msword": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "EXCEL",
    "application/vnd.ms-excel": "EXCEL",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/html": "HTML",
}

_MIME_BY_EXTENSION = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "xml": "application/xml",
    "html": "text/html",
    "htm": "text/html",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}

_MIME_BY_TYPE = {
    "PDF": "application/pdf",
    "TXT": "text/plain",
    "CSV": "text/csv",
    "DOCX": _MIME_BY_EXTENSION["docx"],
    "EXCEL": _MIME_BY_EXTENSION["xlsx"],
    "XML": "application/xml",
    "HTML": "text/html",
    "IMG": "image/png",
}


def file_type_from_mime(mime_type: str) -> str | None:
    """Extend's coarse `file.type` for a MIME type (hazard 20); None when none fits."""
    essence = mime_type.split(";", 1)[0].strip().lower()
    if essence.startswith("image/"):
        return "IMG"
    if essence in _TYPE_BY_MIME:
        return _TYPE_BY_MIME[essence]
    return "TXT" if essence.startswith("text/") else None


def mime_from_file(name: str, file_type: str | None) -> str:
    """A MIME type for an Extend file: from the name's extension, else from `type` (hazard 20)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _MIME_BY_EXTENSION:
        return _MIME_BY_EXTENSION[extension]
    return _MIME_BY_TYPE.get(file_type or "", UNKNOWN_MIME)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """A lowercase snake_case id for a category name, as Extend's docs recommend (§5.1)."""
    return _NOT_SLUG.sub("_", name.lower()).strip("_") or "category"


def category_ids(categories: Iterable[canonical.Category]) -> tuple[str, ...]:
    """Extend ids for categories, in order: the key when given, else a unique slug of the name.

    Deterministic, so a request's `classifications[].id` and a run's `output.id` agree
    (hazard 3). Given keys are reserved first; slugs step around them with `_2`, `_3`, ...
    """
    return _category_ids(tuple(categories))


# every run of a request renders its categories again: the same tuple, the same ids
@lru_cache(maxsize=1024)
def _category_ids(cats: tuple[canonical.Category, ...]) -> tuple[str, ...]:
    taken = {c.key for c in cats if c.key is not None}
    ids = []
    for category in cats:
        ids.append(
            category.key if category.key is not None else fresh_name(slug(category.name), taken)
        )
    return tuple(ids)
