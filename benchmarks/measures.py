"""Benchmark: derive + all published measures x all breakdowns, DuckDB vs plain pandas.

Usage::

    python benchmarks/measures.py               # national year: 1.8 M pathways, 12 months
    python benchmarks/measures.py --quick       # 100 k pathways
    python benchmarks/measures.py --five-years  # 9 M pathways, 60 months (DuckDB only)

The synthetic extract is written once to ``benchmarks/.cache/`` (git-ignored) and reused.
Each phase runs in its own child process so that its peak RSS (``wait4`` rusage) is its own:

- ``duckdb``: ``published_measures`` over every breakdown of docs/measures.md §3 plus a combined one
  (provider x age_band) — the pathway derivation as at the period end and all measures: the
  outcome family and the catalogue families 1-7 of docs/measures.md §5 (issue 18);
- ``pandas``: :mod:`pandas_reference` (a straightforward pandas derivation) and its England
  counts.

Targets (issue 3): DuckDB ≤ 60 s and ≤ 6 GB on 2 cores, ≥ 5x faster than pandas, the same
England counts; the five-year run completes within the memory limit (DuckDB ``memory_limit``
5GB, spilling to a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BREAKDOWNS = (
    "england",
    "provider",
    "commissioner",
    "age_band",
    "gender",
    "ethnic_group",
    "imd_decile",
    "problem_descriptor",
    "provider x age_band",
)
MEMORY_LIMIT = "5GB"
TARGET_SECONDS = 60.0
TARGET_GB = 6.0
TARGET_RATIO = 5.0


def _extract(pathways: int, months: int, start: str, providers: int) -> Path:
    from iaptkit.synth.generate import write_synthetic

    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    folder = CACHE / f"synth-{pathways}-{months}m-{start}-{providers}p"
    done = folder / "_synth.json"
    if not done.exists():
        print(f"writing synthetic extract {folder.name} (once) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        write_synthetic(
            folder, pathways=pathways, start=start, months=months, providers=providers, seed=1
        )
        print(f"  written in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return folder


def _period(start: str, months: int) -> tuple[date, date]:
    """The last 12 months of the extract (a financial year when it starts in April)."""
    from iaptkit.data.schema import month_start
    from iaptkit.measures.periods import month

    y, m = (int(p) for p in start.split("-"))
    first_id = 12 * (y - 1900) + m - 3
    last_id = first_id + months - 1
    s = month_start(last_id - 11)
    e = month(month_start(last_id).strftime("%Y-%m"))[1]
    return s, e


def phase_duckdb(folder: Path, start: date, end: date) -> dict[str, object]:
    from iaptkit.data import load_extract
    from iaptkit.measures.published import published_measures_with_count

    ex = load_extract(folder)
    ex.con.raw_sql(f"SET memory_limit = '{MEMORY_LIMIT}'")
    # results are sorted explicitly, so row order inside DuckDB need not be kept (less memory)
    ex.con.raw_sql("SET preserve_insertion_order = false")
    t0 = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  {time.perf_counter() - t0:7.1f} s  {message}", file=sys.stderr, flush=True)

    table, pathways = published_measures_with_count(ex, start, end, BREAKDOWNS, progress=progress)
    seconds = time.perf_counter() - t0
    eng = table[(table.breakdown == "england") & (table.kind == "count")]
    ex.close()
    return {
        "seconds": seconds,
        "pathways": pathways,
        "rows": len(table),
        "england": {m: int(v) for m, v in zip(eng.measure, eng.value, strict=True)},
    }


def phase_pandas(folder: Path, start: date, end: date) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    from pandas_reference import derive_pandas, england_counts

    from iaptkit.definitions import load_definitions

    defs = load_definitions()
    t0 = time.perf_counter()
    p = derive_pandas(folder, end, defs)
    counts = england_counts(p, start, end)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "pathways": len(p), "england": counts}


def _run_child(phase: str, folder: Path, start: date, end: date) -> tuple[dict[str, object], float]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--folder",
        str(folder),
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed with exit code {proc.returncode}")
    peak_gb = usage.ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux
    return json.loads(out.strip().splitlines()[-1]), peak_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pathways only")
    ap.add_argument("--five-years", action="store_true", help="9 M pathways, 60 months")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--phase", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--start", help=argparse.SUPPRESS)
    ap.add_argument("--end", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:
        fn = phase_duckdb if args.phase == "duckdb" else phase_pandas
        result = fn(args.folder, date.fromisoformat(args.start), date.fromisoformat(args.end))
        print(json.dumps(result))
        return

    if args.five_years:
        pathways, months, start, providers = 9_000_000, 60, "2019-04", 120
    elif args.quick:
        pathways, months, start, providers = 100_000, 12, "2023-04", 20
    else:
        pathways, months, start, providers = 1_800_000, 12, "2023-04", 120
    folder = _extract(pathways, months, start, providers)
    s, e = _period(start, months)
    print(
        f"extract: {pathways:,} pathways, {months} months, {providers} providers; "
        f"period {s} to {e}; {len(BREAKDOWNS)} breakdowns; {os.cpu_count()} cores",
        flush=True,
    )
    duck, duck_gb = _run_child("duckdb", folder, s, e)
    duck_s = float(duck["seconds"])  # type: ignore[arg-type]
    print(
        f"duckdb : {duck_s:7.1f} s  peak RSS {duck_gb:5.2f} GB  "
        f"({duck['pathways']:,} pathways, {duck['rows']:,} output rows)",
        flush=True,
    )
    ok = duck_gb <= TARGET_GB and (args.five_years or duck_s <= TARGET_SECONDS)
    if not args.five_years and not args.skip_pandas:
        pand, pand_gb = _run_child("pandas", folder, s, e)
        pand_s = float(pand["seconds"])  # type: ignore[arg-type]
        ratio = pand_s / duck_s
        same = pand["england"] == duck["england"]
        print(f"pandas : {pand_s:7.1f} s  peak RSS {pand_gb:5.2f} GB", flush=True)
        print(f"speed-up: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x)")
        print(f"England counts identical: {same}")
        if not same:
            for k in duck["england"]:  # type: ignore[union-attr]
                a, b = duck["england"][k], pand["england"].get(k)  # type: ignore[index,union-attr]
                if a != b:
                    print(f"  {k}: duckdb {a} pandas {b}")
        ok = ok and same and ratio >= TARGET_RATIO
    print(
        f"targets (<= {TARGET_SECONDS:.0f} s, <= {TARGET_GB:.0f} GB"
        + ("" if args.five_years else f", >= {TARGET_RATIO:.0f}x pandas, same counts")
        + f"): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
