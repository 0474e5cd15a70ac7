"""A category set as either vendor writes one, read from JSON (`crosswalk replay --categories`).

Retab's: a list of `{name, handle_key?, description?}`, or an object whose `categories` holds
one (as a create body has it). Extend's: a classify config `{"classifications": [{id, type,
description}], ...}`, or an object whose `config` holds one (a create body, a classifier).
Each is decoded through its vendor's own wire types and checks, so a category file is held
to what that vendor's API would accept. Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from mappings import canonical
from mappings.dialects import Dialect
from mappings.errors import InvalidInput
from mappings.extend.config import config_to_canonical
from mappings.extend.requests import check_config
from mappings.extend.wire import ClassifyConfigInput
from mappings.retab.requests import categories_to_canonical
from mappings.retab.wire import CategoryInput

_FORMATS = (
    'expected Retab categories ([{"name", "description"}] or {"categories": [...]}) or an '
    'Extend config ({"classifications": [...]} or {"config": {...}})'
)


class CategorySet(NamedTuple):
    """Canonical categories, and the dialect whose format they were written in."""

    dialect: Dialect
    categories: tuple[canonical.Category, ...]


def category_set_from_json(data: bytes) -> CategorySet:
    """The categories of a JSON document in either vendor's format; raises InvalidInput
    naming the JSON path at fault ("" for the document as a whole)."""
    try:
        raw: Any = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput("", f"not valid JSON ({exc})") from None
    if isinstance(raw, list):
        return _retab(raw, "")
    if isinstance(raw, dict):
        if "categories" in raw:
            return _retab(raw["categories"], "categories")
        if "classifications" in raw:
            return _extend(raw, "")
        if "config" in raw:
            return _extend(raw["config"], "config")
    raise InvalidInput("", _FORMATS)


def category_keys(categories: Sequence[canonical.Category]) -> tuple[str, ...]:
    """Each category's key as a comparison reads labels: its key, else its name."""
    return tuple(c.key if c.key is not None else c.name for c in categories)


def _retab(raw: Any, path: str) -> CategorySet:
    try:
        cats = msgspec.convert(raw, tuple[CategoryInput, ...])
    except msgspec.ValidationError as exc:
        raise InvalidInput(*_located(str(exc), path)) from None
    try:
        return CategorySet("retab", categories_to_canonical(cats))
    except InvalidInput as exc:
        raise InvalidInput(
            _joined(path, exc.field.removeprefix("categories")), exc.reason
        ) from None


def _extend(raw: Any, path: str) -> CategorySet:
    try:
        config = msgspec.convert(raw, ClassifyConfigInput)
        check_config(config, "config")
    except msgspec.ValidationError as exc:
        raise InvalidInput(*_located(str(exc), path)) from None
    except InvalidInput as exc:
        raise InvalidInput(_joined(path, exc.field.removeprefix("config")), exc.reason) from None
    return CategorySet("extend", config_to_canonical(config).categories)


def _located(message: str, path: str) -> tuple[str, str]:
    """msgspec's `Expected `str`, got `int` - at `$[0].name`` as the path and the problem."""
    text, _, where = message.partition(" - at `$")
    return _joined(path, where.rstrip("`")), text


def _joined(path: str, rest: str) -> str:
    """`path` followed by `rest` (`[0].name`, `.classifications[1].id`, or "")."""
    return f"{path}{rest}".lstrip(".")
