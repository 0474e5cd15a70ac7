"""A multipart/form-data body read as it streams in, one event at a time, never held whole.

Litestar's own form parsing collects the whole body before a handler runs; an upload of
hundreds of megabytes must instead go to disk as it arrives. This wraps the sans-I/O push
parser of `multipart` (the package Litestar itself parses forms with; `python-multipart`
installs a module of the same name and would break Litestar's import of it):

    async for event in form_events(request.stream(), boundary_of(content_type)):
        FormPart -> the next part's headers; bytes -> a piece of its body; PartEnd -> its end

A body that is not valid multipart raises `MalformedForm` saying why.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import msgspec
from multipart import MultipartError, PushMultipartParser, parse_options_header

MAX_PARTS = 16  # a form of a file and a few fields; more is not an upload
MAX_HEADER_BYTES = 8 * 1024


class MalformedForm(Exception):
    """The body is not the multipart/form-data it claims to be."""


class FormPart(msgspec.Struct, frozen=True, kw_only=True):
    """The headers of one part: its field `name`, and for a file its `filename` and type."""

    name: str
    filename: str | None = None
    content_type: str | None = None


class PartEnd(msgspec.Struct, frozen=True):
    """The end of the current part."""


FormEvent = FormPart | bytes | PartEnd
_END = PartEnd()


def boundary_of(content_type: str | None) -> str:
    """The boundary a `multipart/form-data` Content-Type names; MalformedForm otherwise."""
    essence, options = _options(content_type or "")
    if essence != "multipart/form-data":
        raise MalformedForm("the body must be multipart/form-data")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise MalformedForm("the multipart/form-data Content-Type has no usable boundary")
    return boundary


async def form_events(chunks: AsyncIterable[bytes], boundary: str) -> AsyncIterator[FormEvent]:
    """The form's parts as events, read from `chunks` as they come."""
    parser = _parser(boundary)
    async for chunk in chunks:
        if not chunk:
            continue  # an empty chunk would tell the parser the body has ended
        for event in _parse(parser, chunk):
            yield event
    try:
        parser.close()
    except MultipartError as exc:
        raise MalformedForm(f"the multipart body is incomplete: {exc}") from None


def _parser(boundary: str) -> Any:
    try:
        return PushMultipartParser(
            boundary,
            max_header_size=MAX_HEADER_BYTES,
            max_segment_count=MAX_PARTS,
            strict=False,
        )
    except MultipartError as exc:
        raise MalformedForm(f"the multipart boundary is not usable: {exc}") from None


def _parse(parser: Any, chunk: bytes) -> list[FormEvent]:
    """The events one chunk completes (a list: the parser's generator must be drained before
    the next chunk, and no event is yielded while it is open)."""
    events: list[FormEvent] = []
    try:
        for event in parser.parse(chunk):
            if event is None:
                events.append(_END)
            elif isinstance(event, bytes | bytearray | memoryview):
                events.append(bytes(event))
            else:
                events.append(_part(event))
    except MultipartError as exc:
        raise MalformedForm(f"the multipart body is malformed: {exc}") from None
    return events


def _part(segment: Any) -> FormPart:
    if segment.disposition != "form-data" or segment.name is None:
        raise MalformedForm("every part needs a Content-Disposition: form-data with a name")
    return FormPart(
        name=str(segment.name),
        filename=None if segment.filename is None else str(segment.filename),
        content_type=None if segment.content_type is None else str(segment.content_type),
    )


def _options(header: str) -> tuple[str, dict[str, str]]:
    essence, options = parse_options_header(header)
    return str(essence).strip().lower(), {str(k): str(v) for k, v in options.items()}
