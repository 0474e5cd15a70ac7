"""Extend classify configs to and from the canonical `RunConfig` (contracts.md §5.1).

Shared by requests (`config`, `classifier.overrideConfig`) and runs (the resolved `config`).
Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from typing import TypeVar

from msgspec import UNSET, UnsetType

from mappings import canonical
from mappings.extend.common import category_ids
from mappings.extend.wire import (
    AdvancedOptions,
    AdvancedOptionsInput,
    Classification,
    ClassificationInput,
    ClassifyConfig,
    ClassifyConfigInput,
    OverrideConfig,
    PageRangeInput,
)
from mappings.models import ModelTable
from mappings.notes import NoteTaker
from mappings.shared import given

T = TypeVar("T")


def config_to_canonical(config: ClassifyConfig | OverrideConfig) -> canonical.RunConfig:
    """A full or partial Extend config as canonical; absent keys become canonical defaults."""
    options = given(config.advanced_options) or AdvancedOptions()
    return canonical.RunConfig(
        categories=categories_to_canonical(given(config.classifications) or ()),
        model=given(config.base_processor),
        model_version=given(config.base_version),
        instructions=given(config.classification_rules),
        pages=tuple(
            canonical.PageRange(start=r.start, end=r.end) for r in given(options.page_ranges) or ()
        ),
        context=given(options.context),
        multimodal=given(options.advanced_multimodal_enabled),
        memory=given(options.memory_enabled),
        parse_config=given(config.parse_config),
    )


def categories_to_canonical(
    classifications: tuple[Classification, ...],
) -> tuple[canonical.Category, ...]:
    """Extend `{id, type, description}` as canonical `{key, name, description}` (hazard 3)."""
    return tuple(
        canonical.Category(key=c.id, name=c.type, description=c.description)
        for c in classifications
    )


def config_from_canonical(
    config: canonical.RunConfig, *, models: ModelTable, notes: NoteTaker, path: str = "config"
) -> ClassifyConfigInput:
    """A canonical config as an Extend `config`; processor names go through `models` (hazard 6)."""
    return ClassifyConfigInput(
        base_processor=_processor(config, models),
        classifications=classifications_from_canonical(config.categories, notes=notes, path=path),
        classification_rules=_or_unset(config.instructions),  # hazard 9
        advanced_options=advanced_from_canonical(config),
        base_version=_or_unset(config.model_version),
        parse_config=_or_unset(config.parse_config),
    )


def override_from_canonical(
    config: canonical.RunConfig, *, models: ModelTable, notes: NoteTaker
) -> OverrideConfig | UnsetType:
    """The config fields a request sets, as `classifier.overrideConfig`; UNSET when none are."""
    path = "classifier.overrideConfig"
    override = OverrideConfig(
        base_processor=_processor(config, models),
        classifications=(
            classifications_from_canonical(config.categories, notes=notes, path=path)
            if config.categories
            else UNSET
        ),
        classification_rules=_or_unset(config.instructions),
        advanced_options=advanced_from_canonical(config),
        base_version=_or_unset(config.model_version),
        parse_config=_or_unset(config.parse_config),
    )
    return override if override != OverrideConfig() else UNSET


def classifications_from_canonical(
    categories: tuple[canonical.Category, ...], *, notes: NoteTaker, path: str
) -> tuple[ClassificationInput, ...]:
    """Canonical categories as Extend classifications, synthesising ids and descriptions
    Extend requires but Retab may leave out (hazard 3)."""
    if any(c.key is None for c in categories):
        notes.synthesized(f"{path}.classifications[].id")
    if any(not c.description for c in categories):
        notes.synthesized(f"{path}.classifications[].description")
    return tuple(
        ClassificationInput(id=key, type=c.name, description=c.description or c.name)
        for key, c in zip(category_ids(categories), categories, strict=True)
    )


def advanced_from_canonical(config: canonical.RunConfig) -> AdvancedOptionsInput | UnsetType:
    """`advancedOptions`, or UNSET when the config sets none of its fields (hazard 8)."""
    options = AdvancedOptionsInput(
        context=_or_unset(config.context),
        advanced_multimodal_enabled=_or_unset(config.multimodal),
        memory_enabled=_or_unset(config.memory),
        page_ranges=(
            tuple(PageRangeInput(start=p.start, end=p.end) for p in config.pages)
            if config.pages
            else UNSET
        ),
    )
    return options if options != AdvancedOptionsInput() else UNSET


def _processor(config: canonical.RunConfig, models: ModelTable) -> str | UnsetType:
    return UNSET if config.model is None else models.extend_processor(config.model)


def _or_unset(value: T | None) -> T | UnsetType:
    return UNSET if value is None else value
