"""Extend wire types around classify runs: saved classifiers and batch runs (contracts.md §5,
§5.3), and how a saved classifier becomes an inline config for a backend that has no saved
classifiers (hazard 10). Imports only msgspec and `mappings`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mappings import canonical
from mappings.extend.config import config_to_canonical
from mappings.extend.resources import CreatedBy
from mappings.extend.wire import ClassifierReference, ClassifyConfig, ExtendWire, FileInput
from mappings.nesting import JsonDecoder
from mappings.shared import given


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


class ClassifierVersionList(ExtendWire, kw_only=True):
    """`GET /classifiers/{id}/versions`: a page of versions."""

    data: tuple[ClassifierVersion, ...] = ()
    next_page_token: str | UnsetType | None = UNSET


def pick_version(
    classifier: Classifier, versions: tuple[ClassifierVersion, ...], wanted: str | None
) -> ClassifierVersion | None:
    """The version a `classifier: {id, version}` reference runs: the named one; with no name,
    the newest published one, else the draft (Extend's own default is its latest version)."""
    draft = given(classifier.draft_version)
    if wanted == "draft":
        return draft
    published = [v for v in versions if v.version != "draft"]
    if wanted is not None:
        return next((v for v in published if v.version == wanted), None)
    if published:
        return max(published, key=lambda v: _version_key(v.version))
    return draft


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def with_saved_config(
    request: canonical.ClassifyRequest, version: ClassifierVersion
) -> canonical.ClassifyRequest:
    """The request with its saved classifier inlined: the saved config, with each field the
    request's `overrideConfig` sets taking its place (contracts.md §5.1)."""
    saved = config_to_canonical(version.config)
    override = request.config
    unset = canonical.RunConfig(categories=())
    merged = {
        field: getattr(override, field)
        if getattr(override, field) != getattr(unset, field)
        else getattr(saved, field)
        for field in canonical.RunConfig.__struct_fields__
    }
    return msgspec.structs.replace(request, config=canonical.RunConfig(**merged), classifier=None)


classifier_decoder = JsonDecoder(Classifier)
classifier_versions_decoder = JsonDecoder(ClassifierVersionList)
batch_request_decoder = JsonDecoder(BatchCreateRequest)
batch_run_decoder = JsonDecoder(BatchRun)
