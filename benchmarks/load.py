"""Benchmark: loading, as-at state and validation of a large synthetic extract.

Generates a synthetic extract (``iaptkit.synth.generate.write_synthetic``) with tables of about a
million rows, then times, in the same run and over the same files:

- ``load_extract`` (opening: DuckDB views, no data read),
- materialising ``referrals_as_at(E)`` (count) and ``activity_as_at("IDS201CareContact", E)``,
- a full ``validate()``,

and compares with bare ``pyarrow.parquet.read_table`` of every file and a bare DuckDB
``SELECT count(*)`` over every file.

Usage::

    python benchmarks/load.py                 # ~300k pathways (IDS101 ~1M rows, ~9M rows in all)
    python benchmarks/load.py --quick         # 20k pathways
    python benchmarks/load.py --pathways N --keep DIR
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from iaptkit.data import load_extract
from iaptkit.synth.generate import write_synthetic


def timed(label: str, fn: Callable[[], Any], results: list[tuple[str, float, str]]) -> Any:
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    shown = f"{value:,}" if isinstance(value, int) else type(value).__name__
    results.append((label, seconds, shown))
    print(f"  {label:<48} {seconds:8.2f} s   {shown}", flush=True)
    return value


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pathways", type=int, default=300_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="20k pathways")
    parser.add_argument("--keep", type=Path, default=None, help="write the extract here")
    args = parser.parse_args()
    pathways = 20_000 if args.quick else args.pathways
    warnings.simplefilter("ignore")

    folder = args.keep or Path(tempfile.mkdtemp(prefix="iaptkit-bench-load-"))
    results: list[tuple[str, float, str]] = []
    print(f"Synthetic extract: {pathways:,} pathways, {args.months} months -> {folder}")
    summary = timed(
        "write_synthetic (parquet)",
        lambda: write_synthetic(
            folder, pathways=pathways, months=args.months, providers=20, seed=7, faults=0.01
        ),
        results,
    )
    rows = dict(summary.rows)
    total_rows = sum(rows.values())
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    files = sorted(folder.glob("*.parquet"))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"  {len(files)} files, {size_mb:,.1f} MB, {total_rows:,} rows in all\n")

    print("Baselines over the same files")
    timed(
        "pyarrow.parquet.read_table (all files)",
        lambda: sum(pq.read_table(f).num_rows for f in files),
        results,
    )

    def bare_duckdb() -> int:
        con = duckdb.connect()
        n = 0
        for f in files:
            got = con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchall()
            n += int(got[0][0])
        con.close()
        return n

    timed("duckdb SELECT count(*) (all files)", bare_duckdb, results)

    def bare_duckdb_group() -> int:
        con = duckdb.connect()
        f = folder / "IDS101Referral.parquet"
        got = con.execute(f"SELECT count(DISTINCT PathwayID) FROM read_parquet('{f}')").fetchall()
        con.close()
        return int(got[0][0])

    timed("duckdb count(DISTINCT PathwayID) on IDS101", bare_duckdb_group, results)

    print("\niaptkit")
    as_at = date(2024, 3, 31) if args.months >= 12 else date(2023, 4 + args.months - 1, 28)
    ex = timed("load_extract (views, nothing read)", lambda: load_extract(folder), results)
    timed(
        f"referrals_as_at({as_at}).count()",
        lambda: int(ex.referrals_as_at(as_at).count().execute()),
        results,
    )
    timed(
        f"activity_as_at(IDS201, {as_at}).count()",
        lambda: int(ex.activity_as_at("IDS201CareContact", as_at).count().execute()),
        results,
    )
    timed(
        f"exclusions({as_at}) (rows by reason)",
        lambda: int(ex.exclusions(as_at).rows.sum()),
        results,
    )
    report = timed(
        "validate() (every rule)",
        lambda: ex.validate(),
        results,
    )
    ex.close()
    print(
        "  validation: "
        + ", ".join(f"{s} {len(report.by_severity(s))}" for s in ("fatal", "error", "info"))
    )

    by = {label: seconds for label, seconds, _ in results}
    arrow = by["pyarrow.parquet.read_table (all files)"]
    bare = by["duckdb SELECT count(*) (all files)"]
    print("\nComparison")
    for label in (
        f"referrals_as_at({as_at}).count()",
        f"activity_as_at(IDS201, {as_at}).count()",
        "validate() (every rule)",
    ):
        print(
            f"  {label:<48} {by[label] / arrow:6.1f}x pyarrow full read, "
            f"{by[label] / bare:6.1f}x bare duckdb count"
        )
    print(f"  validate throughput: {total_rows / by['validate() (every rule)']:,.0f} rows/s")
    print(f"  peak RSS of this process: {peak_rss_mb():,.0f} MB")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
