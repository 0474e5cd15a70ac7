"""The comparison report as JSON: what `GET /crosswalk/comparisons` and `--format json` send.

Keys follow the `Report` Struct's field order, so the output is stable from run to run and
diffs cleanly. The figures are None rather than NaN when there is no data, and msgspec writes a
non-finite float as null anyway, so the JSON is always valid (JSON has no NaN).
Pure: stdlib and msgspec only.
"""

from __future__ import annotations

import msgspec

from gateway.compare.figures import Report

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Report)


def render_json(report: Report, *, indent: int = 0) -> bytes:
    """The report as JSON bytes; `indent` > 0 pretty-prints for a person to read."""
    data = _encoder.encode(report)
    return msgspec.json.format(data, indent=indent) if indent > 0 else data


def parse_json(data: bytes | str) -> Report:
    """A report back from `render_json`'s output (a client, or a test, reading it)."""
    return _decoder.decode(data)
