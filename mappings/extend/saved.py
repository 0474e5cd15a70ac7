"""Saved classifiers a deployment defines in its config (`[classifiers.<id>]`), as Extend's
API shows them (contracts.md §5.3).

A table is read with the checks a client's inline `config` gets, its keys named as written in
the TOML. Each classifier has two versions of one content: the `draft`, and a published `1.0`
that a reference may also name `1` or `latest`. Pure: imports only the stdlib, msgspec and
`mappings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from mappings.errors import InvalidInput
from mappings.extend.catalog import Classifier, ClassifierVersion
from mappings.extend.common import format_timestamp
from mappings.extend.requests import check_config
from mappings.extend.resources import ClassifierSummary
from mappings.extend.wire import ClassifyConfig, ClassifyConfigInput

# an id goes into `/classifiers/{id}` and a TOML table name as it is: URL-safe, no dots
CLASSIFIER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DRAFT, PUBLISHED = "draft", "1.0"
# Extend numbers published versions `major.minor` and resolves `latest` to the newest one
# (classifier_versions.retrieve in the SDK); `1` is the config's own name for it
_PUBLISHED_NAMES = frozenset({"1", PUBLISHED, "latest"})

# TOML key -> Extend `ClassifyConfig` wire key; `instructions` is Extend's classificationRules
_CONFIG_KEYS = {
    "classifications": "classifications",
    "instructions": "classificationRules",
    "base_processor": "baseProcessor",
    "base_version": "baseVersion",
    "advanced_options": "advancedOptions",
    "parse_config": "parseConfig",  # opaque: its own keys go to Extend as written
}
_ADVANCED_KEYS = {
    "context": "context",
    "advanced_multimodal_enabled": "advancedMultimodalEnabled",
    "memory_enabled": "memoryEnabled",
    "page_ranges": "pageRanges",
}
_OWN_KEYS = frozenset({"name", "created_at", "updated_at"})
_TOML_NAMES = {wire: toml for toml, wire in (_CONFIG_KEYS | _ADVANCED_KEYS).items()}
_FIELD = re.compile(r"Object (?P<kind>missing required|contains unknown) field `(?P<name>[^`]+)`")
_PATH_PART = re.compile(r"([^.\[]+)((?:\[\d+\])*)")


class SavedClassifier(msgspec.Struct, frozen=True, kw_only=True):
    """A classifier of the config: its id, name and config; `created_at` and `updated_at`
    are None when the config gives none (the gateway's start then stands for both)."""

    id: str
    name: str
    config: ClassifyConfig
    created_at: datetime | None = None
    updated_at: datetime | None = None


def saved_from_table(classifier_id: str, table: Mapping[str, Any]) -> SavedClassifier:
    """A `[classifiers.<id>]` table; raises InvalidInput naming the key as the TOML has it
    (relative to the table; "" for the table itself)."""
    if not CLASSIFIER_ID.fullmatch(classifier_id):
        raise InvalidInput(
            "",
            "a classifier id is 1-64 letters, digits, `_` and `-`, starting with one of "
            "the first two (e.g. `cl_invoices`)",
        )
    for key in table:
        if key not in _CONFIG_KEYS and key not in _OWN_KEYS:
            raise InvalidInput(key, "unknown key")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name", "required: a non-empty string")
    return SavedClassifier(
        id=classifier_id,
        name=name,
        config=_config(table),
        created_at=_moment(table, "created_at"),
        updated_at=_moment(table, "updated_at"),
    )


def _config(table: Mapping[str, Any]) -> ClassifyConfig:
    wire = {_CONFIG_KEYS[k]: v for k, v in table.items() if k in _CONFIG_KEYS}
    options = wire.get("advancedOptions")
    if isinstance(options, Mapping):
        for key in options:
            if key not in _ADVANCED_KEYS:
                raise InvalidInput(f"advanced_options.{key}", "unknown key")
        wire["advancedOptions"] = {_ADVANCED_KEYS[k]: v for k, v in options.items()}
    try:
        config = msgspec.convert(wire, ClassifyConfigInput)
        check_config(config, "config")
    except msgspec.ValidationError as exc:
        raise InvalidInput(*_located(str(exc))) from None
    except InvalidInput as exc:
        raise InvalidInput(_toml_path(exc.field.removeprefix("config.")), exc.reason) from None
    return config


def _located(message: str) -> tuple[str, str]:
    """msgspec's `Object missing required field `id` - at `$.classifications[0]`` as the TOML
    key at fault and what is wrong with it."""
    text, _, where = message.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    field = _FIELD.fullmatch(text)
    if field is not None:  # name the key itself
        path = ".".join(p for p in (path, field["name"]) if p)
        text = "required" if field["kind"] == "missing required" else "unknown key"
    return _toml_path(path), text


def _toml_path(wire_path: str) -> str:
    """A wire path as the TOML names it: `advancedOptions.pageRanges[0]` is
    `advanced_options.page_ranges[0]`."""
    return ".".join(
        _TOML_NAMES.get(name, name) + index for name, index in _PATH_PART.findall(wire_path)
    )


def _moment(table: Mapping[str, Any], key: str) -> datetime | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(key, "must be a TOML date-time with an offset (1979-05-27T07:32:00Z)")
    return value


def classifier_from_saved(saved: SavedClassifier, *, started: datetime) -> Classifier:
    """The classifier as `GET /classifiers/{id}` answers, its draft version included."""
    created, updated = _times(saved, started)
    return Classifier(
        id=saved.id,
        name=saved.name,
        created_at=created,
        updated_at=updated,
        draft_version=_version(saved, DRAFT, started=started),
    )


def summary_from_saved(saved: SavedClassifier, *, started: datetime) -> ClassifierSummary:
    """The classifier as an item of `GET /classifiers`."""
    created, updated = _times(saved, started)
    return ClassifierSummary(id=saved.id, name=saved.name, created_at=created, updated_at=updated)


def saved_version(
    saved: SavedClassifier, wanted: str | None, *, started: datetime
) -> ClassifierVersion | None:
    """The version a `classifier: {id, version}` reference names, by number, name or id;
    with none, the published one, as Extend runs its latest; None for any other."""
    published = _version(saved, PUBLISHED, started=started)
    draft = _version(saved, DRAFT, started=started)
    if wanted is None or wanted in _PUBLISHED_NAMES or wanted == published.id:
        return published
    if wanted in (DRAFT, draft.id):
        return draft
    return None


def _version(saved: SavedClassifier, version: str, *, started: datetime) -> ClassifierVersion:
    return ClassifierVersion(
        id=f"clv_{saved.id.removeprefix('cl_')}_{version.replace('.', '_')}",
        description=None,
        version=version,
        config=saved.config,
        classifier_id=saved.id,
        created_at=_times(saved, started)[1],
        created_by=None,
    )


def _times(saved: SavedClassifier, started: datetime) -> tuple[str, str]:
    created = saved.created_at or started
    return format_timestamp(created), format_timestamp(saved.updated_at or created)


def sort_key(saved: SavedClassifier, sort_by: str, *, started: datetime) -> tuple[datetime, str]:
    """Where a classifier falls in a listing by `createdAt` or `updatedAt`; ties by id."""
    created = saved.created_at or started
    return (saved.updated_at or created) if sort_by == "updatedAt" else created, saved.id


def classifier_not_found_message(classifier_id: str) -> str:
    """Extend's 404 wording for an unknown classifier, as for an unknown run."""
    return f"Classifier {classifier_id} not found."


def version_not_found_message(classifier_id: str, version: str) -> str:
    """The 404 for a reference to a version the classifier does not have."""
    return f"Classifier {classifier_id} has no version {version!r}."
