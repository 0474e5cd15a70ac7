"""Cost of translating a vendor's response bytes into the other vendor's response bytes.

For every run-shaped response example in `fixtures/wire/` this times the whole cross-vendor
path (decode with the wire Struct, `response_to_canonical`, the other vendor's
`response_from_canonical`, encode) next to a baseline that only decodes the same bytes into
the same Struct and encodes it again, so the ratio is what translation adds to JSON handling.
The two are timed alternately in one loop, so both see the same machine state. Targets:
a median of at most 20 µs per translation and at most 3x the baseline.

Run from the repository root:

    python -m bench.mapping
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from mappings import extend, retab

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
WARMUP = 200
REPETITIONS = 2000
TARGET_US = 20.0
TARGET_RATIO = 3.0

RETAB_PREFIXES = ("retab_get_", "retab_create_response_", "retab_cancel_response.json")
EXTEND_PREFIXES = (
    "extend_classify_runs_get_",
    "extend_classify_response.json",
    "extend_classify_runs_create_response.json",
    "extend_classify_runs_cancel_response.json",
)

Step = Callable[[bytes], bytes]


def retab_to_extend(raw: bytes) -> bytes:
    """Retab response bytes as the Extend response bytes a client of Extend would get."""
    wire = msgspec.json.decode(raw, type=retab.Classification)
    run, _ = retab.response_to_canonical(wire, received_at=RECEIVED)
    body, _ = extend.response_from_canonical(
        run, public_id="clr_xw1-bench", dashboard_url="https://gateway.test/classify_runs/x"
    )
    return msgspec.json.encode(body)


def extend_to_retab(raw: bytes) -> bytes:
    """Extend response bytes as the Retab response bytes a client of Retab would get."""
    wire = msgspec.json.decode(raw, type=extend.ClassifyRun)
    run, _ = extend.response_to_canonical(wire, received_at=RECEIVED)
    body, _ = retab.response_from_canonical(run, public_id="cls_xw1-bench")
    return msgspec.json.encode(body)


def retab_baseline(raw: bytes) -> bytes:
    return msgspec.json.encode(msgspec.json.decode(raw, type=retab.Classification))


def extend_baseline(raw: bytes) -> bytes:
    return msgspec.json.encode(msgspec.json.decode(raw, type=extend.ClassifyRun))


def examples() -> list[tuple[str, bytes, Step, Step]]:
    """(name, bytes, translation, baseline) for each response example that decodes."""
    found: list[tuple[str, bytes, Step, Step]] = []
    for path in sorted(WIRE.glob("*.json")):
        if path.name.endswith("_http.json"):
            continue
        if path.name.startswith(RETAB_PREFIXES):
            found.append((path.name, path.read_bytes(), retab_to_extend, retab_baseline))
        elif path.name.startswith(EXTEND_PREFIXES):
            found.append((path.name, path.read_bytes(), extend_to_retab, extend_baseline))
    return [example for example in found if _usable(example)]


def _usable(example: tuple[str, bytes, Step, Step]) -> bool:
    name, raw, translate, _ = example
    try:
        translate(raw)
    except msgspec.MsgspecError as exc:
        print(f"skipped {name}: {exc}")
        return False
    return True


def measure(raw: bytes, translate: Step, baseline: Step) -> tuple[float, float]:
    """Median µs of `translate(raw)` and of `baseline(raw)`, timed alternately."""
    for _ in range(WARMUP):
        translate(raw)
        baseline(raw)
    translated: list[int] = []
    plain: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(REPETITIONS):
        start = clock()
        translate(raw)
        middle = clock()
        baseline(raw)
        end = clock()
        translated.append(middle - start)
        plain.append(end - middle)
    return statistics.median(translated) / 1000, statistics.median(plain) / 1000


def verdict(ok: bool) -> str:
    return "target met" if ok else "target missed"


def main() -> None:
    rows = [(name, *measure(raw, fn, base)) for name, raw, fn, base in examples()]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'example':<{width}}  {'translated µs':>13}  {'baseline µs':>11}  {'ratio':>6}")
    for name, translated, plain in rows:
        print(f"{name:<{width}}  {translated:>13.2f}  {plain:>11.2f}  {translated / plain:>6.2f}")
    overall = statistics.median(t for _, t, _ in rows)
    base = statistics.median(p for _, _, p in rows)
    ratio = statistics.median(t / p for _, t, p in rows)
    worst = max(rows, key=lambda row: row[1])
    print(f"\n{len(rows)} examples, {REPETITIONS} repetitions each; medians of per-example medians")
    print(f"overall median translated: {overall:.2f} µs, baseline: {base:.2f} µs")
    print(f"slowest: {worst[0]} at {worst[1]:.2f} µs")
    print(f"median ≤ {TARGET_US:g} µs per translation: {verdict(overall <= TARGET_US)}")
    met = verdict(ratio <= TARGET_RATIO)
    print(f"ratio ≤ {TARGET_RATIO:g}x baseline (median {ratio:.2f}x): {met}")


if __name__ == "__main__":
    main()
