"""What a translation had to invent or leave out, for the `crosswalk-translation` header."""

from __future__ import annotations

import msgspec


class Notes(msgspec.Struct, frozen=True, kw_only=True):
    """Wire fields a mapping synthesised (not given by the source) or dropped (not carried).

    Paths are in the dialect of the message being produced or read, e.g. `output.confidence`.
    """

    synthesized: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    def __add__(self, other: Notes) -> Notes:
        return Notes(
            synthesized=_merge(self.synthesized, other.synthesized),
            dropped=_merge(self.dropped, other.dropped),
        )

    def __bool__(self) -> bool:
        return bool(self.synthesized or self.dropped)

    def header(self) -> str:
        """Render as `synthesized=a,b; dropped=c` (empty string when nothing was lost)."""
        parts = []
        if self.synthesized:
            parts.append("synthesized=" + ",".join(self.synthesized))
        if self.dropped:
            parts.append("dropped=" + ",".join(self.dropped))
        return "; ".join(parts)


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


class NoteTaker:
    """Collects notes while one mapping function runs; `.notes` is the frozen result."""

    def __init__(self) -> None:
        self._synthesized: list[str] = []
        self._dropped: list[str] = []

    def synthesized(self, path: str) -> None:
        self._synthesized.append(path)

    def dropped(self, path: str) -> None:
        self._dropped.append(path)

    def add(self, notes: Notes) -> None:
        """Take over what another translation noted."""
        self._synthesized.extend(notes.synthesized)
        self._dropped.extend(notes.dropped)

    @property
    def notes(self) -> Notes:
        return Notes(
            synthesized=tuple(dict.fromkeys(self._synthesized)),
            dropped=tuple(dict.fromkeys(self._dropped)),
        )
