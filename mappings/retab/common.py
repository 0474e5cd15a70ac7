"""Small value translations shared by the Retab mappings: statuses, data URLs and the category
names Retab reports its answer in. Imports only the stdlib, msgspec and `mappings`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from mappings import canonical
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.shared import fresh_name

DEFAULT_MODEL = "retab-small"  # the SDK's default `model` (contracts.md §2.1)
USAGE_UNIT = "retab_credits"

STATUS_TO_CANONICAL = {
    "pending": canonical.Status.pending,
    "queued": canonical.Status.queued,
    "in_progress": canonical.Status.running,
    "completed": canonical.Status.completed,
    "failed": canonical.Status.failed,
    "cancelled": canonical.Status.cancelled,
}

# Total over canonical.Status, so no unknown value can reach Retab's strict SDK enum (hazard 15)
STATUS_FROM_CANONICAL = {status: wire for wire, status in STATUS_TO_CANONICAL.items()}


def status_to_canonical(status: str) -> canonical.Status:
    """A Retab status as canonical; an unknown one cannot be reported in either dialect."""
    try:
        return STATUS_TO_CANONICAL[status]
    except KeyError:
        raise UnsupportedFeature("status", f"unknown Retab status {status!r}") from None


def as_utc(moment: datetime) -> datetime:
    """An aware datetime; Retab's naive timestamps are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_data_url(url: str, *, field: str) -> tuple[bytes, str]:
    """`data:<mime>;base64,<b64>` as (bytes, mime type); anything else is InvalidInput."""
    header, comma, payload = url.partition(",")
    if not comma or not header.lower().startswith("data:"):
        raise InvalidInput(field, "is not a data: URL")
    media, _, encoding = header[len("data:") :].rpartition(";")
    if encoding.lower() != "base64":
        raise InvalidInput(field, "a data: URL must be base64-encoded (`;base64,`)")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(field, "the data: URL's payload is not valid base64") from None
    return data, media or "text/plain"  # RFC 2397's default media type


def data_url(data: bytes, mime_type: str) -> str:
    """Inline bytes as the base64 data URL Retab's SDK sends (contracts.md §4.1)."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def retab_names(
    categories: Sequence[canonical.Category],
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Retab names for categories, in order, and the indexes whose name had to change.

    Retab answers with a category NAME, so names must be unique (hazard 3). Extend allows a
    repeated `type`; a repeat takes its key instead (Extend ids are unique), else the name with
    `_2`, `_3`, … — deterministic, so a request and its run's answer agree.
    """
    return _retab_names(tuple(categories))


# every run of a request renders its categories again: the same tuple, the same names
@lru_cache(maxsize=1024)
def _retab_names(
    categories: tuple[canonical.Category, ...],
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    counts: dict[str, int] = {}
    for category in categories:
        counts[category.name] = counts.get(category.name, 0) + 1
    taken = {name for name, n in counts.items() if n == 1}
    names: list[str] = []
    renamed: list[int] = []
    for index, category in enumerate(categories):
        if counts[category.name] == 1:
            names.append(category.name)
            continue
        names.append(fresh_name(category.key or category.name, taken))
        renamed.append(index)
    return tuple(names), tuple(renamed)


def key_for_name(name: str, categories: Sequence[canonical.Category]) -> str | None:
    """The key of the category Retab named in its answer; None when it has none or is unknown."""
    return next((c.key for c in categories if c.name == name), None)


def name_for_decision(
    decision: canonical.Decision, categories: Sequence[canonical.Category], names: Sequence[str]
) -> str:
    """The Retab name for a decision: by key first (stable across vendors), then by name."""
    for category, name in zip(categories, names, strict=True):
        if decision.category_key is not None and category.key == decision.category_key:
            return name
    for category, name in zip(categories, names, strict=True):
        if category.name == decision.category_name:
            return name
    return decision.category_name
