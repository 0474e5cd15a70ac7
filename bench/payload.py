"""Large documents through crosswalk: how long each takes, and how much the gateway's memory
grows with the document's size (target: less than 2x the document).

crosswalk (`crosswalk serve`, one process) runs with an Extend backend on the mock vendor
(`bench.mock_vendor`). Each document (100 kB, 5 MB and 50 MB of PDF-typed bytes by default)
goes through every way a surface takes one:

  upload   Extend's `POST /files/upload` (multipart), then `POST /classify` naming the file:
           crosswalk keeps the bytes, then streams them to the vendor's Files API
  inline   Retab's `POST /v1/classifications` with the document as a base64 data URL: crosswalk
           uploads the decoded bytes to the vendor (refused with a 413 past
           `[server] max_body_bytes`, 32 MiB, as Retab refuses it)

Growth is the gateway's peak RSS during the request (its high-water mark, reset first
through `/proc/PID/clear_refs`) less its RSS before it. Run from the repository root:

    python -m bench.payload [--sizes 100k 5M 50M]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import scenarios
from bench.processes import Server, free_port, python_command, started

UNITS = {"k": 1000, "M": 1000 * 1000}
CATEGORIES = [
    {"id": "invoice", "type": "invoice", "description": "Bill requesting payment"},
    {"id": "receipt", "type": "receipt", "description": "Proof of payment"},
]
RETAB_CATEGORIES = [{"name": "invoice"}, {"name": "receipt"}]
TARGET_GROWTH = 2.0
CHECKED_FROM = 1_000_000  # below this the allocator's own noise outweighs a document
READY = "/healthz"


@dataclass(frozen=True)
class Sent:
    mode: str
    size: int
    status: int
    seconds: float
    growth: int  # bytes of RSS the gateway grew by, at its peak

    @property
    def ratio(self) -> float:
        return self.growth / self.size


def size_of(text: str) -> int:
    unit = UNITS.get(text[-1], 1)
    return int(float(text.rstrip("kM")) * unit)


def document(size: int) -> bytes:
    """`size` bytes that start like a PDF: the mock never reads them."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(max(0, size - len(head)))


@contextlib.contextmanager
def gateway(work: Path) -> Iterator[Server]:
    """The mock and crosswalk (one process, an Extend backend on the mock)."""
    mock_port, port = free_port(), free_port()
    mock_command = python_command("bench.mock_vendor", "--port", str(mock_port))
    with started("mock", mock_command, port=mock_port, log=work / "mock.log") as mock:
        config = work / "crosswalk.toml"
        config.write_text(scenarios.crosswalk_config("extend", mock.url, work))
        command = python_command(
            "gateway", "serve", "--config", str(config), "--port", str(port), "--log-format", "json"
        )
        env = scenarios.crosswalk_env()
        log = work / "serve.log"
        with started(
            "crosswalk", command, port=port, log=log, env=env, ready_path="/healthz"
        ) as cw:
            yield cw


def upload(client: httpx.Client, data: bytes) -> httpx.Response:
    files = {"file": ("bench.pdf", data, "application/pdf")}
    uploaded = client.post("/files/upload", files=files, headers=scenarios.EXTEND)
    if uploaded.status_code != 200:
        return uploaded
    body = {"file": {"id": uploaded.json()["id"]}, "config": {"classifications": CATEGORIES}}
    return client.post("/classify", json=body, headers=scenarios.EXTEND)


def inline(client: httpx.Client, data: bytes) -> httpx.Response:
    url = "data:application/pdf;base64," + base64.b64encode(data).decode()
    body = {"document": {"filename": "bench.pdf", "url": url}, "categories": RETAB_CATEGORIES}
    return client.post("/v1/classifications", json=body, headers=scenarios.RETAB)


MODES = {"upload": upload, "inline": inline}


def send(server: Server, client: httpx.Client, mode: str, data: bytes) -> Sent:
    pid = server.process.pid
    before = _status(pid, "VmRSS")
    # the high-water mark starts again here (the gateway is this user's process)
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    started_at = time.perf_counter()
    answer = MODES[mode](client, data)
    seconds = time.perf_counter() - started_at
    growth = max(0, _status(pid, "VmHWM") - before)
    return Sent(mode, len(data), answer.status_code, seconds, growth)


def _status(pid: int, field: str) -> int:
    """A size in bytes from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for process {pid}")


def table(rows: list[Sent]) -> str:
    lines = [
        "documents through crosswalk (Extend backend on the mock, one process); growth: peak "
        f"RSS over RSS before, target < {TARGET_GROWTH:g}x the document",
        "",
        f"{'mode':<7} {'size':>10} {'status':>6} {'seconds':>8} {'growth MB':>10} "
        f"{'x size':>7}  target",
    ]
    for row in rows:
        verdict = "met" if row.ratio < TARGET_GROWTH else "missed"
        if row.size < CHECKED_FROM:
            verdict = "- (under 1 MB)"
        if row.status >= 300:
            verdict = f"refused ({row.status})"
        lines.append(
            f"{row.mode:<7} {row.size:>10,} {row.status:>6} {row.seconds:>8.2f} "
            f"{row.growth / 2**20:>10.1f} {row.ratio:>7.2f}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payload", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--sizes", nargs="+", default=["100k", "5M", "50M"], help="e.g. 100k 5M")
    parser.add_argument(
        "--modes", nargs="+", choices=sorted(MODES), default=sorted(MODES, reverse=True)
    )
    args = parser.parse_args(argv)
    rows = []
    sizes = sorted(size_of(text) for text in args.sizes)
    for mode in args.modes:
        rows += measure(mode, sizes)
    print(table(rows))
    return 0


def measure(mode: str, sizes: list[int]) -> list[Sent]:
    """Documents of each size sent one way, smallest first, through a gateway of their own:
    what another way left in its heap does not hide (or inflate) this one's growth."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-payload-") as directory,
        gateway(Path(directory)) as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
    ):
        upload(client, document(1000))  # warm: first-use costs are not a document's
        return [send(server, client, mode, document(size)) for size in sizes]


if __name__ == "__main__":
    sys.exit(main())
