"""The id of a replayed document's comparison: the same for every run of the same replay, so
that a rerun finds the comparisons it made before instead of sending their documents again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec

from mappings import canonical

_DOMAIN = b"crosswalk/replay/comparison/v1\x00"
_encode = msgspec.json.Encoder(order="deterministic").encode


def comparison_id(
    *,
    owner: str,
    document: str,
    name: bytes,
    categories: Sequence[canonical.Category],
    backends: Sequence[str],
) -> str:
    """`cmp_` and 24 hex digits of a hash of who replays which document (its key and its
    name in the folder, as bytes, which need not be UTF-8: two copies of one file are two
    documents of the report), under which categories, through which backends (in any order:
    `--backends a,b` and `b,a` resume each other)."""
    parts = [owner, document, name.hex(), list(categories), sorted(backends)]
    return "cmp_" + hashlib.sha256(_DOMAIN + _encode(parts)).hexdigest()[:24]
