"""Reading a config's secrets so that every missing variable is named at once.

`load_settings` stops at the first unset variable. Here the settings are resolved over an
environment that answers a placeholder for each unset (or blank) variable and remembers its
name: the config's structure is checked in full, then all the missing names are reported
together. With `require=False` (`check-config --no-env`) no variable is needed at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from gateway.config import ConfigError, Settings, load_settings

# what an unset variable reads as while checking: non-blank, and one item of a
# comma-separated list of gateway keys
PLACEHOLDER = "crosswalk-check-placeholder"


class _Recording(Mapping[str, str]):
    """`environ`, with a placeholder for each variable that is unset or blank there."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.missing: dict[str, None] = {}  # in the order the config names them

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(name, "")
        if value.replace(",", "").strip():
            return value
        self.missing[name] = None
        return PLACEHOLDER

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def missing_variables(path: Path | None, environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The settings of `path` with placeholders for unset secrets, and the names of the
    variables it needs that `environ` lacks; a structural mistake is a ConfigError."""
    recording = _Recording(environ)
    settings = load_settings(path, recording)
    return settings, list(recording.missing)


def load_checked(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """`load_settings`, but a ConfigError for unset variables names every one of them."""
    _, missing = missing_variables(path, environ)
    if missing:
        raise ConfigError(unset_message(missing))
    # read again for real: no placeholder may reach a running gateway
    return load_settings(path, environ)


def unset_message(missing: list[str]) -> str:
    """One line naming every unset variable."""
    noun = "variable" if len(missing) == 1 else f"{len(missing)} variables"
    return f"environment: {noun} unset or empty: {', '.join(missing)}"
