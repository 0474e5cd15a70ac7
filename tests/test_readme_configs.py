"""Every TOML example in the README is a configuration crosswalk accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.cli import describe
from gateway.config import resolve

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
ENVIRON = {
    "CROSSWALK_API_KEYS": "gw-1,gw-2",
    "RETAB_API_KEY": "sk-retab-secret",
    "EXTEND_API_KEY": "sk-extend-secret",
    "CROSSWALK_WEBHOOK_SECRET": "wss_subscriber-secret",
    "EXTEND_WEBHOOK_SECRET": "wss_extend-secret",
    "CROSSWALK_FILES_SECRET": "files-link-secret",
}


def test_the_readme_has_config_examples() -> None:
    """The reference config and one example per use case (swap, pure proxy, migration)."""
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_example_resolves(block: str) -> None:
    """Each example passes the same checks as `crosswalk check-config`, secrets unprinted."""
    settings = resolve(tomllib.loads(block), ENVIRON)
    text = describe(settings)
    assert "routing:" in text
    for secret in ENVIRON.values():
        for part in secret.split(","):
            assert part not in text
