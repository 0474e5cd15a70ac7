"""The stateless run-id codec (design.md §5; contracts.md §10 hazard 14)."""

from __future__ import annotations

import base64
import hashlib
import string
from typing import cast
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.dialects import DIALECTS, Dialect
from mappings.errors import NotFound
from mappings.ids import MAX_ID_LENGTH, DecodedId, decode, encode

RETAB_ID = "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2"
EXTEND_ID = "clr_Wm8kP2sV6yB0nE4rT8uX1q"
LOCAL_ID = "lrun_01JNQ8W3T5V7X9Z1B3D5F7H9K2"
PREFIX: dict[Dialect, str] = {"retab": "cls_", "extend": "clr_"}
OTHER: dict[Dialect, Dialect] = {"retab": "extend", "extend": "retab"}
# (surface, dialect of a backend whose ids are foreign there): the other vendor, or local
FOREIGN: list[tuple[Dialect, Dialect | None]] = [
    ("retab", "extend"),
    ("retab", None),
    ("extend", "retab"),
    ("extend", None),
]

surfaces = st.sampled_from(DIALECTS)
dialects = st.sampled_from(["retab", "extend", None])
backend_names = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
awkward_ids = st.sampled_from(
    [RETAB_ID, EXTEND_ID, LOCAL_ID, "a/b?c=%20#d", "../..", " ", "ü", "🙂", "x:y", "cls_xw1-"]
)
# short enough that an id wrapped twice (once per surface) still fits in MAX_ID_LENGTH
short_ids = st.one_of(awkward_ids, st.text(min_size=1, max_size=40))
upstream_ids = st.one_of(
    short_ids,
    st.text(min_size=1, max_size=80),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=200, max_size=300),
)
native_ids = {
    "retab": st.builds(
        str.__add__,
        st.sampled_from(["cls_", "clss_", "clas_"]),
        st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True),
    ),
    "extend": st.from_regex(r"clr_[A-Za-z0-9]{22}", fullmatch=True),
}


def _forge(prefix: str, payload: bytes) -> str:
    """A crosswalk id built from the documented format, for payloads encode never makes."""
    header = prefix + "xw1-"
    checksum = hashlib.blake2b(header.encode() + payload, digest_size=4).digest()
    return header + base64.urlsafe_b64encode(payload + checksum).rstrip(b"=").decode()


def _foreign(surface: Dialect) -> str:
    return encode(surface, "local", None, LOCAL_ID)


@pytest.mark.parametrize(("surface", "dialect"), FOREIGN)
@given(backend=backend_names, upstream_id=upstream_ids)
def test_foreign_ids_round_trip(
    surface: Dialect, dialect: Dialect | None, backend: str, upstream_id: str
) -> None:
    """A foreign run id decodes to the backend and upstream id it was encoded from."""
    public_id = encode(surface, backend, dialect, upstream_id)
    assert decode(surface, public_id) == DecodedId(backend=backend, upstream_id=upstream_id)


@pytest.mark.parametrize(("surface", "dialect"), FOREIGN)
@given(backend=backend_names, upstream_id=upstream_ids)
def test_foreign_ids_keep_the_surface_prefix_and_are_url_safe(
    surface: Dialect, dialect: Dialect | None, backend: str, upstream_id: str
) -> None:
    """A foreign id carries the surface's prefix and survives a URL path segment unescaped."""
    public_id = encode(surface, backend, dialect, upstream_id)
    assert public_id.startswith(PREFIX[surface] + "xw1-")
    assert quote(public_id, safe="") == public_id
    assert len(public_id) <= MAX_ID_LENGTH


@pytest.mark.parametrize("surface", ["retab", "extend"])
@given(data=st.data(), backend=backend_names)
def test_native_ids_pass_through(surface: Dialect, data: st.DataObject, backend: str) -> None:
    """An id of the surface's own vendor is shown unchanged and decodes as native."""
    native_id = data.draw(native_ids[surface])
    assert encode(surface, backend, surface, native_id) == native_id
    assert decode(surface, native_id) == DecodedId(backend=None, upstream_id=native_id)


@given(surface=surfaces, backend=backend_names, upstream_id=upstream_ids)
def test_odd_ids_of_the_surfaces_own_vendor_still_route_back(
    surface: Dialect, backend: str, upstream_id: str
) -> None:
    """A same-vendor id that would not decode as native is wrapped, so it still routes back."""
    public_id = encode(surface, backend, surface, upstream_id)
    expected = None if public_id == upstream_id else backend
    assert decode(surface, public_id) == DecodedId(backend=expected, upstream_id=upstream_id)
    assert quote(public_id, safe="") == public_id


@given(
    surface=surfaces,
    inner_backend=backend_names,
    outer_backend=backend_names,
    dialect=dialects,
    upstream_id=short_ids,
)
def test_crosswalk_ids_of_the_other_surface_round_trip_as_upstream_ids(
    surface: Dialect,
    inner_backend: str,
    outer_backend: str,
    dialect: Dialect | None,
    upstream_id: str,
) -> None:
    """A crosswalk id minted on the other surface is just an opaque upstream id on this one."""
    inner = encode(OTHER[surface], inner_backend, None, upstream_id)
    public_id = encode(surface, outer_backend, OTHER[surface], inner)
    assert public_id != inner
    assert decode(surface, public_id) == DecodedId(backend=outer_backend, upstream_id=inner)


@pytest.mark.parametrize(("surface", "dialect"), FOREIGN)
@given(
    backend=backend_names,
    upstream_id=upstream_ids,
    again_backend=backend_names,
    again_dialect=dialects,
)
def test_encoding_is_idempotent(
    surface: Dialect,
    dialect: Dialect | None,
    backend: str,
    upstream_id: str,
    again_backend: str,
    again_dialect: Dialect | None,
) -> None:
    """Encoding a crosswalk id of the surface again returns it unchanged, never wrapped twice."""
    public_id = encode(surface, backend, dialect, upstream_id)
    assert encode(surface, again_backend, again_dialect, public_id) == public_id


def test_encoded_format_is_prefix_marker_and_checksummed_base64url() -> None:
    """A foreign id is prefix, "xw1-", then unpadded base64url of backend:id and a checksum."""
    assert encode("retab", "extend", "extend", EXTEND_ID) == _forge(
        "cls_", f"extend:{EXTEND_ID}".encode()
    )


@given(surface=surfaces, text=st.one_of(st.text(max_size=600), st.binary().map(bytes.hex)))
def test_arbitrary_text_decodes_or_is_not_found(surface: Dialect, text: str) -> None:
    """Any string either decodes or raises NotFound; no other exception escapes."""
    try:
        decoded = decode(surface, text)
    except NotFound:
        return
    assert isinstance(decoded, DecodedId)


@given(
    surface=surfaces,
    text=st.one_of(
        st.from_regex(r"(cls|clr)_xw[0-9]-[A-Za-z0-9_-]{0,80}", fullmatch=True),
        st.binary(max_size=60).map(
            lambda b: "cls_xw1-" + base64.urlsafe_b64encode(b).decode().rstrip("=")
        ),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=8).map(
            "cls_xw1-".__add__
        ),
    ),
)
def test_anything_carrying_the_marker_is_checked(surface: Dialect, text: str) -> None:
    """Marked ids that encode never issued raise NotFound, whatever bytes they carry."""
    with pytest.raises(NotFound):
        decode(surface, text)


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_truncated_ids_are_not_found(surface: Dialect) -> None:
    """Every truncation of a foreign id that keeps the marker is caught by the checksum."""
    public_id = _foreign(surface)
    for end in range(len(PREFIX[surface] + "xw1-"), len(public_id)):
        with pytest.raises(NotFound):
            decode(surface, public_id[:end])


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_flipped_characters_are_not_found(surface: Dialect) -> None:
    """Changing any one character after the marker is caught, as is an unknown version."""
    public_id = _foreign(surface)
    start = len(PREFIX[surface] + "xw1-")
    for i in range(start, len(public_id)):
        for replacement in "A", "z", "0", "-", "_":
            flipped = public_id[:i] + replacement + public_id[i + 1 :]
            if flipped != public_id:
                with pytest.raises(NotFound):
                    decode(surface, flipped)
    with pytest.raises(NotFound):
        decode(surface, public_id.replace("xw1-", "xw2-", 1))


@pytest.mark.parametrize(
    ("surface", "public_id"),
    [
        ("retab", EXTEND_ID),
        ("extend", RETAB_ID),
        ("extend", "clss_01JNQ8W3T5V7X9Z1B3D5F7H9K2"),
        ("retab", LOCAL_ID),
        ("extend", LOCAL_ID),
        ("retab", "01JNQ8W3T5V7X9Z1B3D5F7H9K2"),
    ],
)
def test_ids_with_the_wrong_prefix_are_not_found(surface: Dialect, public_id: str) -> None:
    """A native id of the other vendor, or with no vendor prefix, names no run on a surface."""
    with pytest.raises(NotFound):
        decode(surface, public_id)


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_crosswalk_ids_do_not_decode_on_the_other_surface(surface: Dialect) -> None:
    """An id minted on one surface is not found on the other, even with its prefix swapped."""
    public_id = _foreign(surface)
    other = OTHER[surface]
    with pytest.raises(NotFound):
        decode(other, public_id)
    with pytest.raises(NotFound):
        decode(other, PREFIX[other] + public_id.removeprefix(PREFIX[surface]))


@pytest.mark.parametrize(
    "public_id",
    [
        "",
        "cls_",
        "clss_",
        "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2/cancel",
        "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2%2F",
        "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2\n",
        "cls_ 01JNQ8W3T5V7X9Z1B3D5F7H9K2",
        "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2=",
        "cls_ü",
        "cls_" + "A" * MAX_ID_LENGTH,
        "cls_xw1-",
        "cls_xw1-A",
        "cls_xw1-AAAAA",
        "cls_xw1-AAAA====",
        _forge("cls_", b"retab"),
        _forge("cls_", b":x"),
        _forge("cls_", b"Retab:x"),
        _forge("cls_", b"a-b:x"),
        _forge("cls_", b"a" * 33 + b":x"),
        _forge("cls_", b"retab:"),
        _forge("cls_", b"retab:\xff\xfe"),
        _forge("cls_", b""),
    ],
)
def test_malformed_ids_are_not_found(public_id: str) -> None:
    """Empty, unsafe, overlong, badly encoded or badly formed ids raise NotFound."""
    with pytest.raises(NotFound):
        decode("retab", public_id)


@pytest.mark.parametrize(
    ("backend", "upstream_id"),
    [
        ("", EXTEND_ID),
        ("Retab", EXTEND_ID),
        ("1retab", EXTEND_ID),
        ("retab-eu", EXTEND_ID),
        ("a" * 33, EXTEND_ID),
        ("extend", ""),
        ("extend", "x" * MAX_ID_LENGTH),
        ("extend", "\ud800"),
    ],
)
def test_encode_refuses_what_no_public_id_could_name(backend: str, upstream_id: str) -> None:
    """A bad backend name, or an empty, overlong or unencodable upstream id is a ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        encode("retab", backend, "extend", upstream_id)


def test_an_unknown_surface_is_a_programming_error() -> None:
    """An unknown surface is the caller's bug, not a client's 404."""
    with pytest.raises(ValueError, match="unknown surface"):
        encode(cast(Dialect, "openai"), "extend", "extend", EXTEND_ID)
    with pytest.raises(ValueError, match="unknown surface"):
        decode(cast(Dialect, "openai"), EXTEND_ID)


def test_hazard_14_run_ids_remember_their_owner() -> None:
    """A foreign id routes back to its backend; a native id passes through to its vendor."""
    shown = encode("retab", "extend", "extend", EXTEND_ID)
    assert shown.startswith("cls_")
    assert decode("retab", shown) == DecodedId(backend="extend", upstream_id=EXTEND_ID)
    local = encode("extend", "local", None, LOCAL_ID)
    assert local.startswith("clr_")
    assert decode("extend", local) == DecodedId(backend="local", upstream_id=LOCAL_ID)
    assert encode("retab", "retab", "retab", RETAB_ID) == RETAB_ID
    assert decode("retab", RETAB_ID) == DecodedId(backend=None, upstream_id=RETAB_ID)
    assert decode("extend", EXTEND_ID) == DecodedId(backend=None, upstream_id=EXTEND_ID)
