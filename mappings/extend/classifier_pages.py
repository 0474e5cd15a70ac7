"""`GET /classifiers` pages: the query, crosswalk's own page tokens, and the list envelope
(contracts.md §5.3, hazard 21).

A listing shows the config's classifiers first, then an Extend backend's own. While it is in
the config's, its `nextPageToken` is crosswalk's (`xw1.classifiers.<offset>`, or `…vendor` for
the start of the vendor's); after, it is the vendor's token as the vendor gave it. Extend's
tokens are base64 and never hold a `.`, so the two cannot be confused. Pure: imports only the
stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from mappings.errors import InvalidInput
from mappings.extend.lists import page_size
from mappings.extend.resources import ClassifierSummary
from mappings.extend.wire import ExtendWire
from mappings.nesting import JsonDecoder
from mappings.numbers import query_integer

SortBy = Literal["createdAt", "updatedAt"]
SortDir = Literal["asc", "desc"]
_TOKEN = "xw1.classifiers."
VENDOR_START = _TOKEN + "vendor"  # the vendor's first page, after the config's classifiers
_MAX_OFFSET = 1_000_000  # far past any config; bounds the digits a token may carry


class ClassifierQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /classifiers`'s query string, checked; `token` is the client's `nextPageToken`."""

    max_page_size: int
    sort_by: SortBy
    sort_dir: SortDir
    token: str | None


def classifier_query(params: Mapping[str, str]) -> ClassifierQuery:
    """The query string as a `ClassifierQuery`; raises InvalidInput naming the parameter.
    Newest first by creation unless asked otherwise, as `GET /classify_runs` lists."""
    sort_by = params.get("sortBy") or "createdAt"
    if sort_by not in ("createdAt", "updatedAt"):
        raise InvalidInput("sortBy", "must be `createdAt` or `updatedAt`", location="query")
    sort_dir = params.get("sortDir") or "desc"
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput("sortDir", "must be `asc` or `desc`", location="query")
    return ClassifierQuery(
        max_page_size=page_size(params.get("maxPageSize")),
        sort_by="createdAt" if sort_by == "createdAt" else "updatedAt",
        sort_dir="asc" if sort_dir == "asc" else "desc",
        token=params.get("nextPageToken") or None,
    )


def config_token(offset: int) -> str:
    """The token of the config's classifiers from `offset` on."""
    return f"{_TOKEN}{offset}"


def config_offset(token: str | None) -> int | None:
    """Where in the config's classifiers a token resumes: 0 with none, None for a token of
    the vendor's listing (VENDOR_START or the vendor's own). Raises InvalidInput for a token
    crosswalk's form cannot have made."""
    if token is None:
        return 0
    if not token.startswith(_TOKEN) or token == VENDOR_START:
        return None
    try:
        return query_integer(token.removeprefix(_TOKEN), low=0, high=_MAX_OFFSET)
    except ValueError:
        raise InvalidInput(
            "nextPageToken", "is not a token this API gave", location="query"
        ) from None


class ClassifierList(ExtendWire, kw_only=True):
    """`GET /classifiers`: a page of summaries. Items relayed from the vendor are kept as its
    raw JSON, so fields crosswalk does not know survive."""

    object: str = "list"
    data: tuple[ClassifierSummary | msgspec.Raw, ...]
    next_page_token: str | None = None


class VendorClassifierList(ExtendWire, kw_only=True):
    """A vendor's `GET /classifiers` answer, read leniently; its items stay raw."""

    object: str = "list"
    data: tuple[msgspec.Raw, ...] = ()
    next_page_token: str | UnsetType | None = UNSET


class _Identified(msgspec.Struct):
    id: str | None = None


class _Referenced(msgspec.Struct):
    classifier: _Identified | None = None


# an item is part of a page the bounded decoder has read already
_identified = msgspec.json.Decoder(_Identified)
_referenced = JsonDecoder(_Referenced)
vendor_classifier_list_decoder = JsonDecoder(VendorClassifierList)


def item_id(item: msgspec.Raw) -> str | None:
    """The `id` of a vendor's list item, None when it has none readable."""
    try:
        return _identified.decode(item).id
    except msgspec.DecodeError:
        return None


def referenced_classifier(body: bytes) -> str | None:
    """The `classifier.id` a create body names, read leniently (the body is judged later);
    None when it names none or cannot be read."""
    try:
        found = _referenced.decode(body).classifier
    except msgspec.DecodeError:
        return None
    return None if found is None else found.id
