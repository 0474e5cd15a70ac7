"""Extend wire types around classify runs: saved classifiers and batch runs (contracts.md §5,
§5.3). Decoded and encoded as is; no canonical mapping yet. Imports only msgspec and `mappings`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mappings.extend.resources import CreatedBy
from mappings.extend.wire import ClassifierReference, ClassifyConfig, ExtendWire, FileInput


class ClassifierVersion(ExtendWire, kw_only=True):
    """A saved classifier version with its full config (`GET /classifiers/{id}/versions/...`)."""

    object: str = "classifier_version"
    id: str
    description: str | UnsetType | None = UNSET
    version: str
    config: ClassifyConfig
    classifier_id: str
    created_at: str | UnsetType = UNSET
    created_by: CreatedBy | UnsetType | None = UNSET


class Classifier(ExtendWire, kw_only=True):
    """A saved classifier (`GET /classifiers/{id}`), with its draft version."""

    object: str = "classifier"
    id: str
    name: str
    created_at: str | UnsetType = UNSET
    updated_at: str | UnsetType = UNSET
    draft_version: ClassifierVersion | UnsetType | None = UNSET


class BatchInput(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """One file of a batch, with its own metadata. Unknown keys are rejected."""

    file: FileInput
    metadata: dict[str, Any] | UnsetType | None = UNSET


class BatchCreateRequest(ExtendWire, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /classify_runs/batch`: a saved classifier only, no inline `config`.
    Unknown keys are rejected."""

    classifier: ClassifierReference
    inputs: tuple[BatchInput, ...]
    priority: int | UnsetType | None = UNSET


class BatchRun(ExtendWire, kw_only=True):
    """A batch of classify runs (`bpr_...`), as batch create and `GET /batch_runs/{id}` answer."""

    object: str = "batch_run"
    id: str
    status: str
    run_count: int
    created_at: str | UnsetType = UNSET


classifier_decoder = msgspec.json.Decoder(Classifier)
batch_request_decoder = msgspec.json.Decoder(BatchCreateRequest)
batch_run_decoder = msgspec.json.Decoder(BatchRun)
