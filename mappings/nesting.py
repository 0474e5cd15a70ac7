"""JSON decoding with a bound on nesting, for every body crosswalk reads: a client's request
and a vendor's answer alike.

msgspec decodes nested JSON by recursion and raises `RecursionError` (not a `DecodeError`)
past Python's recursion limit, at a depth that depends on how deep the caller's stack already
is. So a document nested a few hundred levels may decode in one place and not in another: on
create, but not when the ledger reads it back for a listing. The decoders here turn both into
one `NestingTooDeep` (a `msgspec.DecodeError`, which every reader already handles) at a fixed
depth, so nothing deeper is ever accepted, stored or echoed. Imports only the stdlib and msgspec.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

# levels of objects and arrays in one document, the body itself counted: System.Text.Json's
# default MaxDepth. A vendor's run is about 6 deep; a client's free-form `metadata` or
# `parseConfig` gets the rest, and at this depth decoding and encoding it again never come near
# Python's recursion limit, however deep the stack they run in.
MAX_NESTING = 64

_TOO_DEEP = f"JSON nested more than {MAX_NESTING} levels deep"
_CONTAINERS = (dict, list, tuple, msgspec.Struct)


class NestingTooDeep(msgspec.DecodeError):
    """A JSON document nested more than MAX_NESTING levels deep."""

    def __init__(self) -> None:
        super().__init__(_TOO_DEEP)


class JsonDecoder(Generic[T]):
    """A msgspec JSON decoder of `type_` that refuses documents nested past MAX_NESTING."""

    __slots__ = ("_decoder",)

    def __init__(self, type_: type[T]) -> None:
        self._decoder = msgspec.json.Decoder(type_)

    def decode(self, buf: bytes | str) -> T:
        """`buf` as a `T`; raises msgspec.DecodeError, NestingTooDeep included."""
        try:
            value = self._decoder.decode(buf)
        except RecursionError:
            raise NestingTooDeep from None
        return _checked(buf, value)


def decode(buf: bytes | str, type_: type[T]) -> T:
    """`buf` as a `T`, for a type known only at run time; bounded as JsonDecoder is."""
    try:
        value = msgspec.json.decode(buf, type=type_)
    except RecursionError:
        raise NestingTooDeep from None
    return _checked(buf, value)


def _checked(buf: bytes | str, value: T) -> T:
    # a document with no more openings than the bound cannot nest past it: most documents
    # (a data URL's base64 has no brackets) are cleared by two scans in C, and only the rest
    # are walked
    if _openings(buf) > MAX_NESTING and nested_deeper_than(value, MAX_NESTING):
        raise NestingTooDeep
    return value


def _openings(buf: bytes | str) -> int:
    if isinstance(buf, str):
        return buf.count("[") + buf.count("{")
    return buf.count(b"[") + buf.count(b"{")


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether decoded JSON (dicts, lists, tuples, Structs) nests more than `limit` levels.

    Level by level, without recursion, so the walk itself cannot overflow the stack.
    """
    level: list[Any] = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for node in level for child in _containers_in(node)]
    return False


def _containers_in(node: Any) -> Collection[Any]:
    children: Collection[Any]
    if isinstance(node, dict):
        children = node.values()
    elif isinstance(node, msgspec.Struct):
        children = msgspec.structs.astuple(node)
    else:
        children = node
    # a long array of numbers or strings is cleared by its set of types, built in C
    if len(children) > 8 and not any(
        issubclass(kind, _CONTAINERS) for kind in set(map(type, children))
    ):
        return ()
    return [child for child in children if isinstance(child, _CONTAINERS)]
