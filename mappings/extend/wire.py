"""Extend request wire types: the `file` union, classify configs and the create bodies.

Mirrors Extend's camelCase JSON exactly (contracts.md §4.2, §5.1); absent and null stay apart
through `UNSET`. Lenient types decode upstream responses (vendors add fields); their `...Input`
subclasses forbid unknown fields so a mistyped key in a client's body is rejected, not lost.
Imports only the stdlib, msgspec and `mappings.nesting`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mappings.nesting import JsonDecoder


class ExtendWire(msgspec.Struct, rename="camel", kw_only=True):
    """Base for Extend types: camelCase on the wire, snake_case in Python."""


class PageRange(ExtendWire, kw_only=True):
    """An inclusive, 1-based page range (`advancedOptions.pageRanges[]`)."""

    start: int
    end: int


class Classification(ExtendWire, kw_only=True):
    """One category of a classify config; all three keys are required (contracts.md §5.1)."""

    id: str
    type: str
    description: str


class AdvancedOptions(ExtendWire, kw_only=True):
    """`config.advancedOptions`: Extend-only tuning knobs and the page ranges to read."""

    context: str | UnsetType | None = UNSET
    advanced_multimodal_enabled: bool | UnsetType | None = UNSET
    memory_enabled: bool | UnsetType | None = UNSET
    page_ranges: tuple[PageRange, ...] | UnsetType | None = UNSET


class ClassifyConfig(ExtendWire, kw_only=True):
    """A classify config as runs echo it back, resolved (contracts.md §5.2); decoded leniently.

    Field order follows the webhook example's bytes, so a decoded body re-encodes identically.
    `parseConfig` is opaque and passed through untouched (contracts.md §5.1).
    """

    base_processor: str | UnsetType | None = UNSET
    classifications: tuple[Classification, ...]
    classification_rules: str | UnsetType | None = UNSET
    advanced_options: AdvancedOptions | UnsetType | None = UNSET
    base_version: str | UnsetType | None = UNSET
    parse_config: dict[str, Any] | UnsetType | None = UNSET


class PageRangeInput(PageRange, forbid_unknown_fields=True, kw_only=True):
    """A page range in a client's body; unknown keys are rejected."""


class ClassificationInput(Classification, forbid_unknown_fields=True, kw_only=True):
    """A category in a client's body; unknown keys are rejected."""


class AdvancedOptionsInput(AdvancedOptions, forbid_unknown_fields=True, kw_only=True):
    """`advancedOptions` in a client's body; unknown keys are rejected."""

    page_ranges: tuple[PageRangeInput, ...] | UnsetType | None = UNSET


class ClassifyConfigInput(ClassifyConfig, forbid_unknown_fields=True, kw_only=True):
    """`config` in a client's body; unknown keys are rejected (`parseConfig` stays opaque)."""

    classifications: tuple[ClassificationInput, ...]
    advanced_options: AdvancedOptionsInput | UnsetType | None = UNSET


class OverrideConfig(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """`classifier.overrideConfig`: ClassifyConfig with every key optional; only the keys
    given override the saved classifier. Unknown keys are rejected."""

    base_processor: str | UnsetType | None = UNSET
    classifications: tuple[ClassificationInput, ...] | UnsetType | None = UNSET
    classification_rules: str | UnsetType | None = UNSET
    advanced_options: AdvancedOptionsInput | UnsetType | None = UNSET
    base_version: str | UnsetType | None = UNSET
    parse_config: dict[str, Any] | UnsetType | None = UNSET


class ClassifierReference(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """`classifier`: a saved classifier by id, with an optional version and partial override.
    Unknown keys are rejected."""

    id: str
    version: str | UnsetType | None = UNSET
    override_config: OverrideConfig | UnsetType | None = UNSET


class FileSettings(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """`file.settings`: the password of an encrypted PDF (URL files only, contracts.md §4.2)."""

    password: str | UnsetType | None = UNSET


class FileInput(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """The request `file` union (`{url, name?, settings?}`, `{id}` or `{text, name?}`) as one
    Struct; the mapping checks that exactly one of url, id or text is set (style.md §3).
    Unknown keys are rejected."""

    url: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    text: str | UnsetType = UNSET
    name: str | UnsetType | None = UNSET
    settings: FileSettings | UnsetType | None = UNSET


class ClassifyRequest(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /classify` (sync). Unknown keys, `priority` included, are rejected."""

    file: FileInput
    classifier: ClassifierReference | UnsetType | None = UNSET
    config: ClassifyConfigInput | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET


class ClassifyRunCreateRequest(ClassifyRequest, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /classify_runs` (async): `/classify`'s plus `priority`. Unknown keys are
    rejected."""

    priority: int | UnsetType | None = UNSET


classify_request_decoder = JsonDecoder(ClassifyRequest)
create_request_decoder = JsonDecoder(ClassifyRunCreateRequest)
