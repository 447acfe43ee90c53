"""Benchmark: the row ledger's cost beside the derivation it accounts for.

Generates a synthetic extract (parquet, with injected faults so every reason has rows) and
times, in the same run and over the same files:

- ``derive_pathways(E)`` (the derivation ``iaptkit derive`` writes),
- ``extract_ledger(E)`` (the ledger of ``derive`` and ``measures``: every table counted, rows
  used and not used by reason, validation exclusions included),
- ``extract_ledger()`` (the ledger of ``validate``),

with the definitions loaded once, as the commands pass them; and prints the ratio ledger / derivation (the issue's goal: derive with accounting at most
1.2x derive without it, i.e. a ratio of at most 0.2).

Usage::

    python benchmarks/ledger.py                   # 20k pathways
    python benchmarks/ledger.py --pathways 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from iaptkit.data import load_extract
from iaptkit.data.ledger import extract_ledger
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import derive_pathways
from iaptkit.synth.generate import write_synthetic


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (seconds) and the last value."""
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pathways", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--faults", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    defs = load_definitions()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "extract"
        summary = write_synthetic(
            folder, pathways=args.pathways, start="2023-04", months=args.months, seed=11,
            faults=args.faults,
        )  # fmt: skip
        as_at = date(2024, 3, 31)
        print(f"{args.pathways:,} pathways, {sum(summary.rows.values()):,} rows, faults "
              f"{args.faults}; best of {args.repeat}")  # fmt: skip
        with load_extract(folder) as ex:
            t_derive, frame = best_of(args.repeat, lambda: derive_pathways(ex, as_at, defs))
            t_ledger, ledger = best_of(args.repeat, lambda: extract_ledger(ex, as_at, defs))
            t_valid, _ = best_of(args.repeat, lambda: extract_ledger(ex, None, defs))
        assert ledger.balanced
        print(f"  derive_pathways(E)       {t_derive:8.2f} s  ({len(frame):,} pathways)")
        print(f"  extract_ledger(E)        {t_ledger:8.2f} s  (derive + measures ledger)")
        print(f"  extract_ledger()         {t_valid:8.2f} s  (validate ledger)")
        print(f"  ledger / derivation      {t_ledger / t_derive:8.2f}  "
              f"(derive with accounting = {1 + t_ledger / t_derive:.2f}x derive alone)")  # fmt: skip


if __name__ == "__main__":
    main()
