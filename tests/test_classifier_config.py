"""Saved classifiers from the config (`[classifiers.<id>]`): read with the checks a client's
inline `config` gets, every mistake named by its key, and the versions a reference may name."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.config import ConfigError, load_settings, resolve
from mappings import canonical, extend

CONFIG = Path(__file__).parent.parent / "fixtures" / "config" / "classifiers.toml"
STARTED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CLASSES = [
    {"id": "a", "type": "a", "description": "A"},
    {"id": "b", "type": "b", "description": "B"},
]


def _freight() -> extend.SavedClassifier:
    return load_settings(CONFIG, {}).classifiers["cl_freight"]


def test_a_config_file_defines_classifiers() -> None:
    """Each table is a classifier; its keys are Extend's `ClassifyConfig`, `instructions`
    being `classificationRules`."""
    saved = load_settings(CONFIG, {}).classifiers
    assert sorted(saved) == ["cl_contracts", "cl_freight", "cl_mail"]
    freight = saved["cl_freight"]
    assert freight.name == "Inbound freight"
    assert freight.created_at == datetime(2025, 11, 18, 9, tzinfo=UTC)
    wire = msgspec.json.decode(msgspec.json.encode(freight.config))
    assert wire["classificationRules"] == "Anything mentioning 'pro-forma' is an invoice."
    assert wire["baseProcessor"] == "classification_performance"
    assert wire["advancedOptions"] == {"context": "default", "pageRanges": [{"start": 1, "end": 5}]}
    assert [c["id"] for c in wire["classifications"]] == ["invoice", "receipt", "bill_of_lading"]


def _table(**keys: Any) -> dict[str, Any]:
    return {"classifiers": {"cl_x": {"name": "X", "classifications": CLASSES, **keys}}}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        pytest.param(
            _table(classification_rules="r"),
            "classifiers.cl_x.classification_rules: unknown key",
            id="unknown-key",
        ),
        pytest.param(
            _table(classifications=[]),
            "classifiers.cl_x.classifications: At least one",
            id="empty-classifications",
        ),
        pytest.param(
            {"classifiers": {"cl_x": {"name": "X"}}},
            "classifiers.cl_x.classifications: required",
            id="no-classifications",
        ),
        pytest.param(
            _table(classifications=[{"id": "a", "type": "a"}]),
            "classifiers.cl_x.classifications[0].description: required",
            id="no-description",
        ),
        pytest.param(
            _table(classifications=[{**CLASSES[0], "label": "A"}]),
            "classifiers.cl_x.classifications[0].label: unknown key",
            id="classification-key",
        ),
        pytest.param(
            _table(classifications=[CLASSES[0], CLASSES[0]]),
            r"classifiers.cl_x.classifications[1].id: must be unique",
            id="duplicate-id",
        ),
        pytest.param(
            _table(advanced_options={"pageRanges": []}),
            "classifiers.cl_x.advanced_options.pageRanges: unknown key",
            id="camel-case-option",
        ),
        pytest.param(
            _table(advanced_options={"page_ranges": [{"start": 3, "end": 2}]}),
            "classifiers.cl_x.advanced_options.page_ranges[0].end",
            id="page-range",
        ),
        pytest.param(
            _table(advanced_options={"memory_enabled": "yes"}),
            "classifiers.cl_x.advanced_options.memory_enabled: Expected `bool",
            id="option-type",
        ),
        pytest.param(
            _table(instructions=3),
            "classifiers.cl_x.instructions: Expected `str",
            id="instructions-type",
        ),
        pytest.param(
            {"classifiers": {"cl_x": {"classifications": CLASSES}}},
            "classifiers.cl_x.name: required",
            id="no-name",
        ),
        pytest.param(
            _table(created_at=datetime(2026, 1, 1)),
            "classifiers.cl_x.created_at: must be a TOML date-time with an offset",
            id="naive-time",
        ),
        pytest.param(
            {"classifiers": {"cl/x": {"name": "X", "classifications": CLASSES}}},
            "classifiers.cl/x: a classifier id is",
            id="unsafe-id",
        ),
        pytest.param(
            {"classifiers": {"cl_x": "X"}}, "classifiers.cl_x: expected a table", id="not-a-table"
        ),
    ],
)
def test_mistakes_name_the_exact_key(raw: dict[str, Any], named: str) -> None:
    """A classifier table's mistake stops start-up, naming the key as the TOML spells it."""
    with pytest.raises(ConfigError) as caught:
        resolve(raw, {})
    assert str(caught.value).startswith(named)


def test_a_toml_table_reads_the_same() -> None:
    """Written in TOML, a classifier's page ranges are checked like a client's."""
    text = """
        [classifiers.cl_x]
        name = "X"
        classifications = [{ id = "a", type = "a", description = "A" }]
        advanced_options = { page_ranges = [{ start = 0, end = 1 }] }
    """
    with pytest.raises(
        ConfigError,
        match=r"^classifiers\.cl_x\.advanced_options\.page_ranges\[0\]\.start: must be from 1",
    ):
        resolve(tomllib.loads(text), {})


@pytest.mark.parametrize(
    ("wanted", "version"),
    [
        (None, "1.0"),
        ("1", "1.0"),
        ("1.0", "1.0"),
        ("latest", "1.0"),
        ("clv_freight_1_0", "1.0"),
        ("draft", "draft"),
        ("clv_freight_draft", "draft"),
        ("2.0", None),
        ("0.1", None),
        ("clv_mail_draft", None),
    ],
)
def test_the_versions_a_reference_may_name(wanted: str | None, version: str | None) -> None:
    """A config classifier has a draft and a published 1.0 of the same content; with no
    version a reference runs the published one, as Extend runs its latest."""
    found = extend.saved_version(_freight(), wanted, started=STARTED)
    assert (found and found.version) == version
    if found is not None:
        assert found.classifier_id == "cl_freight"
        assert found.config == _freight().config


def test_a_classifier_shows_as_extend_shows_one() -> None:
    """`GET /classifiers/{id}`'s body: Extend's `Classifier`, its draft version inside;
    the timestamps the config gives, or the gateway's start."""
    shown = msgspec.to_builtins(extend.classifier_from_saved(_freight(), started=STARTED))
    example = msgspec.json.decode(
        (
            Path(__file__).parent.parent
            / "fixtures"
            / "wire"
            / "extend_classifiers_get_response.json"
        ).read_bytes()
    )
    assert set(shown) == set(example)
    assert set(shown["draftVersion"]) == set(example["draftVersion"])
    assert shown["updatedAt"] == "2026-02-20T16:31:12.000Z"
    assert shown["draftVersion"]["version"] == "draft"
    bare = extend.saved_from_table("cl_bare", {"name": "Bare", "classifications": CLASSES})
    assert extend.summary_from_saved(bare, started=STARTED).created_at == "2026-03-02T15:00:00.000Z"


def _request(override: canonical.RunConfig) -> canonical.ClassifyRequest:
    return canonical.ClassifyRequest(
        document=canonical.TextDocument(text="x"),
        config=override,
        classifier=canonical.ClassifierRef(id="cl_freight"),
    )


def test_an_override_replaces_what_it_sets() -> None:
    """Extend's `overrideConfig` rules: a field given replaces the saved one; `classifications`
    replace the saved list whole (never merged by id); fields not given stay as saved."""
    version = extend.saved_version(_freight(), "draft", started=STARTED)
    assert version is not None
    override = canonical.RunConfig(
        categories=(canonical.Category(key="memo", name="memo", description="A memo"),),
        instructions="Memos first.",
    )
    merged = extend.with_saved_config(_request(override), version).config
    assert merged.categories == override.categories
    assert merged.instructions == "Memos first."
    assert merged.model == "classification_performance"
    assert merged.pages == (canonical.PageRange(start=1, end=5),)


def test_advanced_options_merge_key_by_key() -> None:
    """An override setting one of `advancedOptions` keeps the saved others."""
    version = extend.saved_version(_freight(), None, started=STARTED)
    assert version is not None
    merged = extend.with_saved_config(
        _request(canonical.RunConfig(categories=(), context="max")), version
    )
    assert merged.config.context == "max"
    assert merged.config.pages == (canonical.PageRange(start=1, end=5),)
    assert len(merged.config.categories) == 3
    assert merged.classifier is None
