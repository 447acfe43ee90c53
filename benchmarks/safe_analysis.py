"""Benchmark: the safe-analysis calls on person-level rows, pandas against Ibis/DuckDB.

Builds ``--rows`` synthetic pathways (providers x age band x gender, sessions and waits), then
times ``Release.crosstab`` (counts through protect) and ``Release.pivot_table`` (mean and sum by
provider and age band, margins, every rule) on a pandas DataFrame and on the same rows as an
Ibis table on DuckDB (aggregated in the engine), and checks the two give the same table.

    .venv/bin/python benchmarks/safe_analysis.py                # 1,000,000 rows
    .venv/bin/python benchmarks/safe_analysis.py --rows 200000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from iaptkit.release import Release


def rows(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    providers = [f"R{i:02d}" for i in range(40)]
    weights = rng.pareto(1.5, len(providers)) + 0.05
    return pd.DataFrame(
        {
            "provider": rng.choice(providers, n, p=weights / weights.sum()),
            "age_band": rng.choice(
                ["Under 18", "18-25", "26-64", "65+"], n, p=[0.01, 0.2, 0.7, 0.09]
            ),
            "gender": rng.choice(["F", "M", "X"], n, p=[0.64, 0.355, 0.005]),
            "sessions": rng.poisson(7, n).astype(float),
            "wait": rng.gamma(2.0, 15.0, n).round(),
        }
    )


def timed(label: str, call: object) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    hidden = int(result.isna().to_numpy().sum())
    print(f"  {label:<44} {seconds:7.2f} s   {result.size:5d} cells, {hidden:4d} suppressed")
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    df = rows(args.rows)
    con = ibis.duckdb.connect()
    t = con.create_table("pathways", df)
    rel = Release.open_or_create(Path(tempfile.mkdtemp()) / "bench")
    print(f"safe analysis on {args.rows:,} rows (policy nhs-sde)")
    results = {}
    for engine, data in (("pandas", df), ("ibis/duckdb", t)):
        print(engine)
        src = data
        results[engine, "crosstab"] = timed(
            "crosstab provider x age_band x gender",
            lambda src=src: rel.crosstab(
                [src.provider, src.age_band], src.gender, margins=True, name="ct"
            ),
        )
        for agg in ("mean", "sum"):
            results[engine, agg] = timed(
                f"pivot_table {agg} of sessions, provider x age_band",
                lambda src=src, agg=agg: rel.pivot_table(
                    src, "sessions", "provider", "age_band", agg, margins=True, name=f"p_{agg}"
                ),
            )
    print("comparison (engine / pandas time; same table?)")
    for what in ("crosstab", "mean", "sum"):
        (tp, a), (ti, b) = results["pandas", what], results["ibis/duckdb", what]
        same = a.shape == b.shape and np.allclose(
            a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True
        )
        print(f"  {what:<10} {ti / tp:5.2f}x   same: {same}")


if __name__ == "__main__":
    main()
