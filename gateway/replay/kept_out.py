"""Files a replay never sends although they sit in DOCS_DIR: the ledger it writes (and its
journals), the Files API's stored files and secret key, the replay's lock, its own inputs
and its report page. Sending them would hand a vendor the ledger or the key that encrypts
stored files; each is compared by its real path (symbolic links resolved).
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import Settings


class KeptOut:
    """What the replay leaves out, each with what it is."""

    def __init__(self, settings: Settings, inputs: dict[Path | None, str]) -> None:
        store = settings.store_path
        named: dict[Path | None, str] = {
            Path(store): "the ledger",
            Path(f"{store}-wal"): "the ledger's journal",
            Path(f"{store}-shm"): "the ledger's journal",
            Path(f"{store}-journal"): "the ledger's journal",
            Path(settings.files_key_path): "the Files API's secret key",
            Path(lock_path(settings)): "the replay's lock",
            **inputs,
        }
        self._files = {path.resolve(): what for path, what in named.items() if path is not None}
        self._folder = Path(settings.files_dir).resolve()

    def reason(self, path: Path) -> str | None:
        """What `path` is, if the replay leaves it out; None for a document."""
        real = path.resolve()
        if real.is_relative_to(self._folder):
            return "a file of the Files API's store"
        return self._files.get(real)


def lock_path(settings: Settings) -> str:
    """The file a replay holds locked while it uses the ledger (gateway/replay/lock.py)."""
    return f"{settings.store_path}-replay-lock"
