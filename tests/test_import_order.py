"""Every gateway module imports on its own, first, in a fresh interpreter: an import cycle
that only resolves when some other module happens to be loaded first fails here."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import gateway
import mappings


def _modules() -> list[str]:
    found: list[str] = []
    for package in (gateway, mappings):
        prefix = package.__name__ + "."
        walked = pkgutil.walk_packages(package.__path__, prefix)
        found += [m.name for m in walked if not m.name.endswith(".__main__")]
    return sorted(found)


def test_each_module_imports_first_on_its_own() -> None:
    # one interpreter, each module imported first in a clean slate of gateway/mappings modules
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        "KEPT = ('gateway', 'mappings')\n"
        "base = set(sys.modules)\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m not in base]:\n"
        # the metrics stay: Prometheus refuses to register the same metric twice
        "        if loaded.split('.')[0] in KEPT and loaded != 'gateway.metrics':\n"
        "            del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *_modules()], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
