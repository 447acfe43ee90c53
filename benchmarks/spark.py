"""Benchmark: derive + every published measure family on Spark (local mode) vs DuckDB.

Usage::

    python benchmarks/spark.py                  # 20 k and 200 k pathways
    python benchmarks/spark.py --sizes 257 20000 # any sizes
    python benchmarks/spark.py --national       # also 1.8 M pathways (long)
    python benchmarks/spark.py --staging cache  # Spark stages cached instead of checkpointed

For each size the synthetic extract (12 months, seed 1) is written once to
``benchmarks/.cache/`` and each engine runs in its own child process, so that its peak memory
is its own: the Python process's peak RSS (``wait4``), plus, on Spark, the JVM's (``VmHWM``).
Printed per size and engine: seconds to derive the pathways, seconds for every measure
family (docs/measures.md §5) over a few breakdowns, the Spark session start (JVM) apart, the
number of Spark jobs (``statusTracker``), peak memory, and the Spark/DuckDB ratio of the
derive + measures time. Both engines' England values are compared.

Targets (issue 21): at 200 k pathways Spark derive + measures at most 3x DuckDB; from 20 k to
200 k the Spark time grows with the data (much less than 10x for 10x the data is planning
overhead amortised; the plan does not grow with the data).
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
BREAKDOWNS = ("england", "provider", "age_band", "problem_descriptor", "provider x age_band")
START, END = date(2023, 4, 1), date(2024, 3, 31)
TARGET_RATIO = 3.0


def _extract(pathways: int) -> Path:
    from iaptkit.synth.generate import write_synthetic

    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    providers = max(3, min(120, pathways // 15_000))
    folder = CACHE / f"synth-{pathways}-12m-2023-04-{providers}p"
    if not (folder / "_synth.json").exists():
        print(f"writing synthetic extract {folder.name} (once) ...", file=sys.stderr, flush=True)
        write_synthetic(
            folder, pathways=pathways, start="2023-04", months=12, providers=providers, seed=1
        )
    return folder


def _vm_hwm_gb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return 0.0


def phase(engine: str, folder: Path, staging: str, driver_memory: str) -> dict[str, object]:
    from iaptkit.data import load_extract
    from iaptkit.measures.derive import derive_pathways
    from iaptkit.measures.published import published_measures

    t0 = time.perf_counter()
    spark = None
    if engine == "spark":
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .appName("iaptkit-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.pyspark.python", sys.executable)
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - t0
    ex = load_extract(folder, spark=spark, engine=engine)
    if spark is not None:
        ex.con.staging = staging
    t1 = time.perf_counter()
    pathways = derive_pathways(ex, END)
    t2 = time.perf_counter()
    table = published_measures(ex, START, END, BREAKDOWNS)
    t3 = time.perf_counter()
    result: dict[str, object] = {
        "session_s": session_s,
        "derive_s": t2 - t1,
        "measures_s": t3 - t2,
        "pathways": len(pathways),
        "rows": len(table),
        "england": {
            f"{m}": float(v)
            for m, v, b in zip(table.measure, table.value, table.breakdown, strict=True)
            if b == "england" and v == v
        },
    }
    if spark is not None:
        from iaptkit.data.staging import spark_job_count

        result["jobs"] = spark_job_count(spark)
        result["jvm_peak_gb"] = _vm_hwm_gb(spark.sparkContext._gateway.proc.pid)
        spark.stop()
    else:
        ex.close()
    return result


def _child(engine: str, folder: Path, args: argparse.Namespace) -> tuple[dict[str, object], float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", engine]
    cmd += ["--folder", str(folder), "--staging", args.staging]
    cmd += ["--driver-memory", args.driver_memory]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{engine} on {folder.name} failed")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss * 1024 / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--national", action="store_true", help="also 1.8 M pathways")
    ap.add_argument("--staging", choices=["checkpoint", "cache"], default="checkpoint")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--phase", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.folder, args.staging, args.driver_memory)))
        return
    sizes = [*args.sizes, *([1_800_000] if args.national else [])]
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}; staging {args.staging}")
    spark_totals: dict[int, float] = {}
    for n in sizes:
        folder = _extract(n)
        duck, duck_gb = _child("duckdb", folder, args)
        spark, spark_gb = _child("spark", folder, args)
        d = float(duck["derive_s"]) + float(duck["measures_s"])  # type: ignore[arg-type]
        s = float(spark["derive_s"]) + float(spark["measures_s"])  # type: ignore[arg-type]
        spark_totals[n] = s
        for name, r, gb in (("duckdb", duck, duck_gb), ("spark", spark, spark_gb)):
            jvm = f"  JVM peak {r['jvm_peak_gb']:.2f} GB" if "jvm_peak_gb" in r else ""
            jobs = f"  {r['jobs']} Spark jobs" if "jobs" in r else ""
            print(
                f"{n:>9,} {name:6}: derive {r['derive_s']:7.1f} s  measures "
                f"{r['measures_s']:7.1f} s  (session {r['session_s']:.1f} s)  "
                f"Python peak {gb:.2f} GB{jvm}{jobs}",
                flush=True,
            )
        same = duck["england"] == spark["england"]
        print(
            f"{n:>9,} ratio spark/duckdb (derive + measures): {s / d:.1f}x; England equal: {same}"
        )
    if len(spark_totals) > 1:
        a, b = min(spark_totals), max(spark_totals)
        growth = spark_totals[b] / spark_totals[a]
        print(f"Spark time {a:,} -> {b:,} pathways: x{growth:.1f} for x{b / a:.0f} the data")
    print(f"load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
