"""Crosswalk's file ids (mappings/files.py): made of 16 random bytes, marked so that no
vendor's `file_…` id is ever taken for one, and checked exactly before any lookup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.files import ENTROPY_BYTES, is_crosswalk_file_id, is_well_formed, new_file_id

# Extend's ids are base62 (contracts.md §4.3), Retab's 16 hex digits (hazard 13)
VENDOR_IDS = ["file_xQ4nT8vB2mK6pR9sW3yZ7c", "file_3c0a9f1e77b2d564", "file_xw1", "file_xwA-b"]


@given(st.binary(min_size=ENTROPY_BYTES, max_size=ENTROPY_BYTES))
def test_every_issued_id_is_marked_well_formed_and_path_safe(entropy: bytes) -> None:
    """An issued id starts `file_xw1-`, is well-formed, and holds only URL- and
    filename-safe characters (it names the bytes' file on disk)."""
    file_id = new_file_id(entropy)
    assert file_id.startswith("file_xw1-")
    assert is_crosswalk_file_id(file_id)
    assert is_well_formed(file_id)
    assert set(file_id) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def test_different_entropy_gives_different_ids() -> None:
    assert new_file_id(bytes(16)) != new_file_id(b"\x01" + bytes(15))


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_vendor_file_ids_are_never_taken_for_crosswalk_ids(vendor_id: str) -> None:
    """Extend's and Retab's ids share the `file_` prefix but never crosswalk's marker."""
    assert not is_crosswalk_file_id(vendor_id)
    assert not is_well_formed(vendor_id)


@pytest.mark.parametrize(
    "marked", ["file_xw1-short", "file_xw2-AAAAAAAAAAAAAAAAAAAAAA", "file_xw1-" + "A" * 22 + "/"]
)
def test_a_marked_id_of_the_wrong_shape_is_crosswalks_but_names_no_file(marked: str) -> None:
    """A marked id is never forwarded to a vendor, and is refused before any lookup."""
    assert is_crosswalk_file_id(marked)
    assert not is_well_formed(marked)


def test_entropy_of_the_wrong_size_is_a_callers_bug() -> None:
    with pytest.raises(ValueError, match="16 random bytes"):
        new_file_id(b"short")
