"""Benchmark: derive + every published measure family on Spark (local mode) vs DuckDB.

Usage::

    python benchmarks/spark.py                  # 20 k and 200 k pathways
    python benchmarks/spark.py --sizes 257 20000 # any sizes
    python benchmarks/spark.py --national       # also 1.8 M pathways (long)
    python benchmarks/spark.py --staging cache  # Spark stages cached instead of checkpointed
    python benchmarks/spark.py --sizes 257 --conf spark.sql.codegen.wholeStage=false  # a setting

For each size the synthetic extract (12 months, seed 1) is written once to
``benchmarks/.cache/`` and each engine runs in its own child process, so that its peak memory
is its own: the Python process's peak RSS (``wait4``), plus, on Spark, the JVM's (``VmHWM``).
Printed per size and engine: seconds to count the row ledger (as the commands do before they
derive: rows read, used and not used by reason), to derive the pathways, and for every measure
family (docs/measures.md §5) over a few breakdowns, the Spark session start (JVM) apart, the
number of Spark jobs (``statusTracker``) in all and by phase, CPU seconds (user + system, the
JVM's included; in all and, for the JVM, by phase), peak memory, and the Spark/DuckDB ratio of
the ledger + derive + measures time (and of the whole run's CPU). Both engines' England values
and ledgers are compared.

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


def _jvm_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase(
    engine: str, folder: Path, staging: str, driver_memory: str | None, conf: list[str]
) -> dict[str, object]:
    from iaptkit.data import load_extract
    from iaptkit.data.ledger import Ledger, TableLedger, count_rows, extract_ledger
    from iaptkit.measures.derive import derive_pathways
    from iaptkit.measures.published import published_measures

    t0 = time.perf_counter()
    spark = None
    marks: dict[str, tuple[int, float]] = {}

    def mark(name: str) -> None:
        # (Spark jobs so far, JVM CPU seconds so far) at the end of a phase
        if spark is not None:
            from iaptkit.data.staging import spark_job_count

            pid = spark.sparkContext._gateway.proc.pid
            marks[name] = (spark_job_count(spark), _jvm_cpu_s(pid))

    if engine == "spark":
        from pyspark.sql import SparkSession

        from iaptkit.cli.commands_common import local_spark_conf

        # the settings of the commands' own local session, on two cores
        builder = SparkSession.builder.master("local[2]").appName("iaptkit-bench")
        for key, value in local_spark_conf().items():
            builder = builder.config(key, value)
        if driver_memory:  # else the commands' own: half the machine's memory, 1-16 GB
            builder = builder.config("spark.driver.memory", driver_memory)
        builder = builder.config("spark.sql.shuffle.partitions", "4").config(
            "spark.pyspark.python", sys.executable
        )
        for setting in conf:  # --conf KEY=VALUE, after the commands' own settings
            key, _, value = setting.partition("=")
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - t0
    mark("session")
    ex = load_extract(folder, spark=spark, engine=engine)
    if spark is not None:
        ex.con.staging = staging
    t1 = time.perf_counter()
    mark("load")
    # the row ledger as the commands count it (cli/commands_common.py, checked_ledger)
    ex.keep_referral_states()
    read = Ledger()
    for name in ex.table_names():
        read = read.with_table(TableLedger(name, count_rows(ex, name), 0, {}))
    ledger = extract_ledger(ex, END, read=read)
    t_ledger = time.perf_counter()
    mark("ledger")
    pathways = derive_pathways(ex, END)
    t2 = time.perf_counter()
    mark("derive")
    table = published_measures(ex, START, END, BREAKDOWNS)
    t3 = time.perf_counter()
    mark("measures")
    result: dict[str, object] = {
        "session_s": session_s,
        "load_s": t1 - t0 - session_s,
        "ledger_s": t_ledger - t1,
        "derive_s": t2 - t_ledger,
        "measures_s": t3 - t2,
        "python_cpu_s": sum(os.times()[:2]),
        "pathways": len(pathways),
        "rows": len(table),
        "ledger": ledger.to_records(),
        "england": {
            f"{m}": float(v)
            for m, v, b in zip(table.measure, table.value, table.breakdown, strict=True)
            if b == "england" and v == v
        },
    }
    if spark is not None:
        result["jobs"] = marks["measures"][0]
        result["jobs_by_phase"] = {
            name: marks[name][0] - marks[prev][0]
            for prev, name in zip(marks, list(marks)[1:], strict=False)
        }
        result["jvm_cpu_by_phase_s"] = {"session": marks["session"][1]} | {
            name: marks[name][1] - marks[prev][1]
            for prev, name in zip(marks, list(marks)[1:], strict=False)
        }
        result["jvm_cpu_s"] = marks["measures"][1]
        result["jvm_peak_gb"] = _vm_hwm_gb(spark.sparkContext._gateway.proc.pid)
        spark.stop()
    else:
        ex.close()
    return result


def _child(
    engine: str, folder: Path, args: argparse.Namespace
) -> tuple[dict[str, object], float, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", engine]
    cmd += ["--folder", str(folder), "--staging", args.staging]
    if args.driver_memory:
        cmd += ["--driver-memory", args.driver_memory]
    for setting in args.conf:
        cmd += ["--conf", setting]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{engine} on {folder.name} failed")
    result = json.loads(out.strip().splitlines()[-1])
    # the child's CPU (user + system), and on Spark the JVM's (not a waited child)
    cpu = usage.ru_utime + usage.ru_stime + float(result.get("jvm_cpu_s", 0.0))
    return result, usage.ru_maxrss * 1024 / 1e9, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--national", action="store_true", help="also 1.8 M pathways")
    ap.add_argument("--staging", choices=["checkpoint", "cache"], default="checkpoint")
    ap.add_argument(
        "--driver-memory",
        default=None,
        help="e.g. 8g (default: the commands' own, half the machine's memory, 1-16 GB)",
    )
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a Spark setting for the Spark run (repeatable)")  # fmt: skip
    ap.add_argument("--phase", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        result = phase(args.phase, args.folder, args.staging, args.driver_memory, args.conf)
        print(json.dumps(result))
        return
    sizes = [*args.sizes, *([1_800_000] if args.national else [])]
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}; staging {args.staging}; "
          f"Spark settings {args.conf or 'the commands own'}")  # fmt: skip
    spark_totals: dict[int, float] = {}
    for n in sizes:
        folder = _extract(n)
        duck, duck_gb, duck_cpu = _child("duckdb", folder, args)
        spark, spark_gb, spark_cpu = _child("spark", folder, args)
        d = sum(float(duck[k]) for k in ("ledger_s", "derive_s", "measures_s"))  # type: ignore[arg-type]
        s = sum(float(spark[k]) for k in ("ledger_s", "derive_s", "measures_s"))  # type: ignore[arg-type]
        spark_totals[n] = s
        for name, r, gb, cpu in (
            ("duckdb", duck, duck_gb, duck_cpu),
            ("spark", spark, spark_gb, spark_cpu),
        ):
            jvm = f"  JVM peak {r['jvm_peak_gb']:.2f} GB" if "jvm_peak_gb" in r else ""
            jobs = f"  {r['jobs']} Spark jobs" if "jobs" in r else ""
            print(
                f"{n:>9,} {name:6}: ledger {r['ledger_s']:6.1f} s  derive {r['derive_s']:7.1f} s  "
                f"measures "
                f"{r['measures_s']:7.1f} s  (session {r['session_s']:.1f} s, load "
                f"{r['load_s']:.1f} s)  CPU {cpu:.1f} s  Python peak {gb:.2f} GB{jvm}{jobs}",
                flush=True,
            )
            if "jobs_by_phase" in r:
                by = r["jobs_by_phase"]
                cpus = r["jvm_cpu_by_phase_s"]
                print(
                    f"{'':>9} {'':6}  Spark jobs by phase {by}; JVM CPU s by phase "
                    f"{ {k: round(float(v), 1) for k, v in cpus.items()} }",  # type: ignore[union-attr]
                    flush=True,
                )
        same = duck["england"] == spark["england"]
        same_ledger = duck["ledger"] == spark["ledger"]
        print(
            f"{n:>9,} ratio spark/duckdb (ledger + derive + measures): {s / d:.1f}x wall, "
            f"{spark_cpu / duck_cpu:.1f}x CPU (whole run); England equal: {same}; "
            f"ledger equal: {same_ledger}",
            flush=True,
        )
    if len(spark_totals) > 1:
        a, b = min(spark_totals), max(spark_totals)
        growth = spark_totals[b] / spark_totals[a]
        print(f"Spark time {a:,} -> {b:,} pathways: x{growth:.1f} for x{b / a:.0f} the data")
    print(f"load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
