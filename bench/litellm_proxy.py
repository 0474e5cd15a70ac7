"""LiteLLM's proxy (PyPI `litellm[proxy]`), the Python gateway users would otherwise pick, set
up to forward the vendors' run paths to the mock with its pass-through endpoints.

It is installed once into a venv of its own under `~/.cache/crosswalk-bench/litellm-venv`
(`$XDG_CACHE_HOME` when set), never into crosswalk's, and configured by a generated YAML:
`general_settings.pass_through_endpoints`, each path to the same path on the mock, no auth
(and a random master key: it refuses to start without one). Anything that stops it is a
reason for the table, not a failed run.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "litellm[proxy]"
INSTALL_SECONDS = 900


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crosswalk-bench"


def venv_dir() -> Path:
    return cache_dir() / "litellm-venv"


def executable() -> Path:
    return venv_dir() / "bin" / "litellm"


def ensure_installed(*, install: bool) -> str | None:
    """None once LiteLLM's proxy is installed (installing it when `install`), else why not."""
    if executable().exists():
        return None
    if not install:
        return "not installed (run without --no-litellm to install it)"
    venv = venv_dir()
    log = cache_dir() / "litellm-install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"installing {PACKAGE} into {venv} (once; log: {log})", file=sys.stderr, flush=True)
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", PACKAGE],
    )
    with log.open("wb") as out:
        for step in steps:
            try:
                done = subprocess.run(step, stdout=out, stderr=out, timeout=INSTALL_SECONDS)
            except subprocess.TimeoutExpired:
                return f"install took over {INSTALL_SECONDS} s (see {log})"
            if done.returncode != 0:
                return f"install failed (see {log})"
    return None if executable().exists() else f"no litellm command after install (see {log})"


def config(mock_url: str, paths: Iterable[str]) -> str:
    """The proxy's YAML (JSON is YAML): each path forwarded to the same path on the mock.
    Exact paths: its `include_subpath` routes ask for a key (and a database) whatever
    `auth` says, in litellm 1.108."""
    endpoints = [
        {"path": path, "target": mock_url + path, "auth": False} for path in sorted(set(paths))
    ]
    # it refuses to start without a master key; the endpoints themselves ask for none
    settings = {
        "master_key": f"sk-bench-{secrets.token_hex(16)}",
        "pass_through_endpoints": endpoints,
    }
    return json.dumps({"model_list": [], "general_settings": settings})


def command(config_path: Path, port: int) -> list[str]:
    return [
        str(executable()),
        "--config",
        str(config_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def environment() -> dict[str, str]:
    """No telemetry, quiet logs: LiteLLM at its lightest."""
    return {
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
