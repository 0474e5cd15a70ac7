"""The table that translates model names between vendors (contracts.md §10 hazard 6).

Retab names a free-form `model`; Extend names a `baseProcessor`. Names not in the table pass
through unchanged (Extend adds processors faster than SDKs learn them, hazard 11).
"""

from __future__ import annotations

import msgspec


class ModelTable(msgspec.Struct, frozen=True, kw_only=True):
    """Retab model name -> Extend baseProcessor, and back."""

    to_extend: dict[str, str]
    to_retab: dict[str, str]

    def extend_processor(self, model: str) -> str:
        return self.to_extend.get(model, model)

    def retab_model(self, processor: str) -> str:
        return self.to_retab.get(processor, processor)


DEFAULT_MODELS = ModelTable(
    to_extend={
        "retab-micro": "classification_light",
        "retab-small": "classification_standard",
        "retab-large": "classification_performance",
    },
    to_retab={
        "classification_light": "retab-micro",
        "classification_standard": "retab-small",
        "classification_performance": "retab-large",
    },
)
