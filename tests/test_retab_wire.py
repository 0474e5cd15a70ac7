"""Retab wire Structs against the example payloads in fixtures/wire (contracts.md §2, §7.1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mappings import retab
from mappings.nesting import JsonDecoder

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

# Cases that must not decode, or that decode with a documented loss: kept out of round trips
SPECIAL = ("retab_case_invalid_", "retab_case_lenient_")
BODIES = sorted(
    p
    for p in WIRE.glob("retab_*.json")
    if not p.name.endswith("_http.json") and not p.name.startswith(SPECIAL)
)
ENVELOPES = sorted(WIRE.glob("retab_*_http.json"))


def _decoder_for(name: str) -> JsonDecoder[Any]:
    if "_request" in name:
        return retab.request_decoder
    if "_error_" in name:
        return retab.error_body_decoder
    if "list_response" in name:
        return retab.classification_list_decoder
    if "download_link" in name:
        return retab.file_link_decoder
    return retab.classification_decoder


def _reencoded(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def _envelope_body(path: Path) -> Any:
    """The response body of an `*_http.json` envelope: inline, or from its `body_file`."""
    response = json.loads(path.read_bytes())["response"]
    if "body_file" in response:
        return json.loads((WIRE / response["body_file"]).read_bytes())
    return response["body"]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in BODIES])
def test_retab_body_round_trips(path: Path) -> None:
    """Every plain Retab fixture decodes into its wire Struct and re-encodes to the same JSON."""
    decoded = _decoder_for(path.name).decode(path.read_bytes())
    assert _reencoded(decoded) == json.loads(path.read_bytes())


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in ENVELOPES])
def test_retab_envelope_body_round_trips(path: Path) -> None:
    """Every `*_http.json` response body decodes as its resource and re-encodes unchanged."""
    envelope = json.loads(path.read_bytes())
    body = _envelope_body(path)
    if envelope["request"]["method"] == "DELETE":
        assert envelope["response"]["status"] == 204
        assert body is None  # Retab's delete has no body to decode (contracts.md §2)
        return
    listing = envelope["request"]["path"] == "/v1/classifications"
    decoder = retab.classification_list_decoder if listing else retab.classification_decoder
    assert _reencoded(decoder.decode(json.dumps(body))) == body


def test_status_only_projection_has_no_output() -> None:
    """The include_output=false example decodes with `output` absent, not null."""
    body = _envelope_body(WIRE / "retab_get_status_only_http.json")
    decoded = retab.classification_decoder.decode(json.dumps(body))
    assert decoded.output is msgspec.UNSET
    assert decoded.status == "in_progress"


def test_seed_likelihood_decodes_and_stays_on_the_wire_struct() -> None:
    """The seed's singular `likelihood` decodes into its own field, so re-encoding keeps it."""
    seed = retab.classification_decoder.decode((WIRE / "retab_get_seed.json").read_bytes())
    assert isinstance(seed.consensus, retab.ClassificationConsensus)
    assert seed.consensus.likelihood is None
    assert seed.consensus.likelihoods is msgspec.UNSET


def test_seed_is_normalised_to_likelihoods_and_an_explicit_status() -> None:
    """Re-rendered through canonical, the seed says `likelihoods` and `status: pending`."""
    seed = retab.classification_decoder.decode((WIRE / "retab_get_seed.json").read_bytes())
    run, _ = retab.response_to_canonical(seed, received_at=RECEIVED)
    body = _reencoded(retab.response_from_canonical(run, public_id=run.id)[0])
    assert "likelihood" not in (body["consensus"] or {})
    assert body["status"] == "pending"  # the SDK's reading of the seed (contracts.md §12 #3)


def test_docs_shaped_response_decodes_leniently() -> None:
    """Unknown keys (`updated_at`, `organization_id`) are ignored and missing `categories`
    decodes as absent; the docs' `likelihood` still reaches canonical."""
    raw = (WIRE / "retab_case_lenient_get_docs_shape.json").read_bytes()
    decoded = retab.classification_decoder.decode(raw)
    assert decoded.categories is msgspec.UNSET
    assert "updated_at" not in _reencoded(decoded)
    run, _ = retab.response_to_canonical(decoded, received_at=RECEIVED)
    assert run.config.categories == ()
    assert run.agreement == 0.9


def test_unknown_request_field_is_rejected() -> None:
    """A misspelt create option is a decode error naming the key, not silently dropped."""
    raw = (WIRE / "retab_case_invalid_request_unknown_field.json").read_bytes()
    with pytest.raises(msgspec.ValidationError, match="n_consensuses"):
        retab.request_decoder.decode(raw)


def test_unknown_category_field_is_rejected() -> None:
    """Unknown keys inside a request's categories are rejected too."""
    raw = json.loads((WIRE / "retab_create_request.json").read_bytes())
    raw["categories"][0]["colour"] = "red"
    with pytest.raises(msgspec.ValidationError, match="colour"):
        retab.request_decoder.decode(json.dumps(raw))


def test_file_ref_request_document_decodes() -> None:
    """The create body's document may be a FileRef `{id, filename, mime_type}` (§12 #6)."""
    raw = (WIRE / "retab_case_request_file_ref.json").read_bytes()
    document = retab.request_decoder.decode(raw).document
    assert (document.id, document.url) == ("file_3c0a9f1e77b2d564", msgspec.UNSET)


@pytest.mark.parametrize(
    ("name", "detail_type"),
    [
        ("retab_error_400_detail_object.json", retab.ErrorDetail),
        ("retab_error_401_detail_string.json", str),
        ("retab_error_404_detail_string.json", str),
        ("retab_error_422_validation.json", tuple),
    ],
)
def test_error_shapes_decode_by_json_type(name: str, detail_type: type) -> None:
    """Each of Retab's three error shapes decodes into the matching `detail` variant."""
    body = retab.error_body_decoder.decode((WIRE / name).read_bytes())
    assert isinstance(body.detail, detail_type)
