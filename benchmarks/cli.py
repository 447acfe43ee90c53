"""Benchmark: the commands users run (``iaptkit derive`` + ``iaptkit measures``), ledger included.

Usage::

    python benchmarks/cli.py               # 20 k and 200 k pathways
    python benchmarks/cli.py --sizes 20000  # one size
    python benchmarks/cli.py --national    # also 1.8 M pathways (slow: a quiet machine)
    python benchmarks/cli.py --all-families --sizes 200000  # issue 18: every family x breakdown
    python benchmarks/cli.py --ledger-cost --national --sizes ""  # the ledger's cost at 1.8 M

For each size (12 months, parquet, written once to ``benchmarks/.cache/``), every figure is the
wall time of a fresh process (interpreter start and imports included), one after another:

- ``derive``: ``python -m iaptkit derive --as-at END -o P.parquet --json`` (row ledger included);
- ``measures``: ``python -m iaptkit measures`` on the extract (outcome family, the one the
  pandas reference computes; breakdown ``england``; ``--policy none``), deriving again;
- ``measures --pathways``: the same command counting the parquet file ``derive`` wrote
  (checked against its provenance) instead of deriving again;
- ``derive without accounting``: the same derivation and parquet file as ``derive`` (Arrow
  written by ``PathwayWriter``) without the row ledger: the ledger's cost;
- ``pandas``: :mod:`pandas_reference` (read, derive and England counts).

It prints each time, the ratios pandas / CLI (goal: at least 5x at 200 k) for both ways of
running the two commands, the ledger's cost (derive with accounting / without; goal: at most
1.2x), and the load average (a shared machine makes every figure slower).

With ``--all-families`` (issue 18's target: derive + every family x every breakdown within 60 s
and 6 GB at 1.8 M pathways, from the CLI, with the row ledger) it times instead, per size:
``derive`` as above, then ``measures --families all --by all,provider x age_band`` both from
the extract (deriving again) and with ``--pathways`` (the derive's file), each with its peak
memory (the process's maximum resident set).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
START = "2023-04"
MONTHS = 12


def _extract(pathways: int) -> Path:
    from iaptkit.synth.generate import write_synthetic

    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    providers = max(2, min(120, pathways // 15_000))
    folder = CACHE / f"synth-{pathways}-{MONTHS}m-{START}-{providers}p"
    if not (folder / "_synth.json").exists():
        print(f"writing synthetic extract {folder.name} (once) ...", file=sys.stderr, flush=True)
        write_synthetic(
            folder, pathways=pathways, start=START, months=MONTHS, providers=providers, seed=1
        )
    return folder


#: CPU seconds (user + system) of every timed process, by label: on a loaded machine wall
#: time measures the other users as much as the command; CPU time much less so
CPU: dict[str, float] = {}


#: peak resident memory (GB) of every timed process, by label
PEAK_GB: dict[str, float] = {}


def _timed(cmd: list[str], label: str) -> float:
    t0 = time.perf_counter()
    with (
        open(os.devnull, "w") as out,
        subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True) as proc,
    ):
        err = proc.stderr.read() if proc.stderr is not None else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    CPU[label] = usage.ru_utime + usage.ru_stime
    PEAK_GB[label] = usage.ru_maxrss / 2**20  # kB on Linux
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds


def run_size(pathways: int, work: Path) -> dict[str, float]:
    folder = _extract(pathways)
    start, end = "2023-04-01", "2024-03-31"
    iapt = [sys.executable, "-m", "iaptkit"]
    derive_out = work / f"p{pathways}.parquet"
    measures = [*iapt, "measures", str(folder), "--start", start, "--end", end,
                "--by", "england", "--families", "outcomes", "--policy", "none"]  # fmt: skip
    t_derive = _timed(
        [*iapt, "derive", str(folder), "--as-at", end, "-o", str(derive_out),
         "--json", str(work / f"d{pathways}.json")],
        "derive",
    )  # fmt: skip
    t_measures = _timed(
        [
            *measures,
            "-o",
            str(work / f"m{pathways}.csv"),
            "--json",
            str(work / f"m{pathways}.json"),
        ],
        "measures",
    )
    t_from_file = _timed(
        [*measures, "--pathways", str(derive_out), "-o", str(work / f"mp{pathways}.csv"),
         "--json", str(work / f"mp{pathways}.json")],
        "measures_from_file",
    )  # fmt: skip
    for name in (f"d{pathways}.json", f"m{pathways}.json", f"mp{pathways}.json"):
        ledger = json.loads((work / name).read_text())["ledger"]
        assert all(
            e["rows_used"] + sum(e["rows_not_used"].values()) == e["rows_in_files"] for e in ledger
        ), name
    same = (work / f"m{pathways}.csv").read_bytes() == (work / f"mp{pathways}.csv").read_bytes()
    assert same, "measures from the extract and from the derived file differ"
    lib = f"""
from datetime import date
from pathlib import Path
from iaptkit.data import load_extract
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import derive_pathways_arrow
from iaptkit.measures.pathway_files import PathwayWriter
ex = load_extract({str(folder)!r})
with PathwayWriter(Path({str(work / "lib.parquet")!r})) as w:
    w.write_arrow(derive_pathways_arrow(ex, date.fromisoformat({end!r}), load_definitions()))
ex.close()
"""
    t_lib = _timed([sys.executable, "-c", lib], "derive_library")
    pandas = f"""
import sys
from datetime import date
from pathlib import Path
sys.path.insert(0, {str(HERE)!r})
from pandas_reference import derive_pandas, england_counts
from iaptkit.definitions import load_definitions
p = derive_pandas(Path({str(folder)!r}), date.fromisoformat({end!r}), load_definitions())
england_counts(p, date.fromisoformat({start!r}), date.fromisoformat({end!r}))
"""
    t_pandas = _timed([sys.executable, "-c", pandas], "pandas")
    return {
        "derive": t_derive,
        "measures": t_measures,
        "measures_from_file": t_from_file,
        "cli": t_derive + t_measures,
        "cli_from_file": t_derive + t_from_file,
        "derive_library": t_lib,
        "pandas": t_pandas,
    }


def run_all_families(pathways: int, work: Path) -> None:
    """Issue 18: derive + every family x every breakdown from the CLI, ledger included."""
    folder = _extract(pathways)
    start, end = "2023-04-01", "2024-03-31"
    iapt = [sys.executable, "-m", "iaptkit"]
    derive_out = work / f"a{pathways}.parquet"
    measures = [*iapt, "measures", str(folder), "--start", start, "--end", end,
                "--by", "all,provider x age_band", "--families", "all", "--policy", "none"]  # fmt: skip
    t_derive = _timed(
        [*iapt, "derive", str(folder), "--as-at", end, "-o", str(derive_out),
         "--json", str(work / f"ad{pathways}.json")],
        "derive",
    )  # fmt: skip
    t_measures = _timed(
        [*measures, "-o", str(work / f"am{pathways}.csv"),
         "--json", str(work / f"am{pathways}.json")],
        "measures",
    )  # fmt: skip
    t_from_file = _timed(
        [*measures, "--pathways", str(derive_out), "-o", str(work / f"amp{pathways}.csv"),
         "--json", str(work / f"amp{pathways}.json")],
        "measures_from_file",
    )  # fmt: skip
    for name in (f"ad{pathways}.json", f"am{pathways}.json", f"amp{pathways}.json"):
        ledger = json.loads((work / name).read_text())["ledger"]
        assert all(
            e["rows_used"] + sum(e["rows_not_used"].values()) == e["rows_in_files"] for e in ledger
        ), name
    c, m = CPU, PEAK_GB
    print(
        f"{pathways:>9,} pathways, every family x every breakdown (wall / CPU / peak): derive "
        f"{t_derive:.1f} s / {c['derive']:.1f} s / {m['derive']:.2f} GB; measures from the "
        f"extract {t_measures:.1f} s / {c['measures']:.1f} s / {m['measures']:.2f} GB "
        f"(alone: goal <= 60 s, 6 GB at 1.8 M); measures --pathways {t_from_file:.1f} s / "
        f"{c['measures_from_file']:.1f} s / {m['measures_from_file']:.2f} GB; derive + "
        f"measures --pathways {t_derive + t_from_file:.1f} s wall "
        f"(goal <= 60 s at 1.8 M)",
        flush=True,
    )


def run_ledger_cost(pathways: int, work: Path, repeat: int = 2) -> None:
    """The ledger's cost alone: ``iaptkit derive`` (with the ledger) against the same
    derivation and file without it, alternating, ``repeat`` times each (no measures, no pandas:
    what fits a national year on a small machine)."""
    import pyarrow.parquet as pq

    folder = _extract(pathways)
    end = "2024-03-31"
    derive = [sys.executable, "-m", "iaptkit", "derive", str(folder), "--as-at", end,
              "-o", str(work / f"lc{pathways}.parquet"),
              "--json", str(work / f"lc{pathways}.json")]  # fmt: skip
    lib = f"""
from datetime import date
from pathlib import Path
from iaptkit.cli.commands_common import open_extract
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import derive_pathways_arrow
from iaptkit.measures.partitions import range_parts, written_parts
from iaptkit.measures.pathway_files import PathwayWriter
ex = open_extract({str(folder)!r}, "duckdb", None)
n = written_parts(ex)
with PathwayWriter(Path({str(work / "lc-lib.parquet")!r})) as w:
    for source in ([*range_parts(ex, n)] if n > 1 else [ex]):
        w.write_arrow(derive_pathways_arrow(source, date.fromisoformat({end!r}), load_definitions()))
ex.close()
"""
    with_l, without, cpu_with, cpu_without, peak = [], [], [], [], 0.0
    for _ in range(repeat):
        with_l.append(_timed(derive, "derive"))
        cpu_with.append(CPU["derive"])
        peak = max(peak, PEAK_GB["derive"])
        without.append(_timed([sys.executable, "-c", lib], "derive_library"))
        cpu_without.append(CPU["derive_library"])
    ledger = json.loads((work / f"lc{pathways}.json").read_text())["ledger"]
    assert all(
        e["rows_used"] + sum(e["rows_not_used"].values()) == e["rows_in_files"] for e in ledger
    )
    same = pq.read_table(work / f"lc{pathways}.parquet").equals(
        pq.read_table(work / "lc-lib.parquet")
    )
    assert same, "derive with and without the ledger wrote different pathways"
    w1, w0, c1, c0 = min(with_l), min(without), min(cpu_with), min(cpu_without)
    print(
        f"{pathways:>9,} pathways, the ledger's cost (best of {repeat}, alternating): "
        f"iaptkit derive {w1:.1f} s wall / {c1:.1f} s CPU (peak {peak:.2f} GB); the same "
        f"derivation without the ledger {w0:.1f} s / {c0:.1f} s -> {w1 / w0:.2f}x wall, "
        f"{c1 / c0:.2f}x CPU (goal <= 1.2x at 1.8 M); all runs wall: with "
        f"{', '.join(f'{x:.1f}' for x in with_l)}; without {', '.join(f'{x:.1f}' for x in without)}",
        flush=True,
    )


def _available_gib() -> float:
    """Memory available to a new process (``MemAvailable``), in GiB; 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,200000", help="pathways, comma separated")
    ap.add_argument("--national", action="store_true", help="also 1,800,000 pathways")
    ap.add_argument(
        "--all-families",
        action="store_true",
        help="issue 18: derive + measures of every family x every breakdown (with peak memory)",
    )
    ap.add_argument(
        "--ledger-cost",
        action="store_true",
        help="issue 14: only derive with and without the ledger, alternating (fits 1.8 M)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.national:
        free = _available_gib()
        if free > 10:
            sizes.append(1_800_000)
        else:
            print(f"--national skipped: {free:.1f} GiB of memory available (needs > 10 GiB)")
    work = CACHE / "cli-work"
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for n in sizes:
        if args.ledger_cost:
            run_ledger_cost(n, work)
            print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
            continue
        if args.all_families:
            run_all_families(n, work)
            print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
            continue
        r = run_size(n, work)
        c = dict(CPU)
        for kind, t in (("wall", r), ("CPU", c)):
            cli, from_file = t["derive"] + t["measures"], t["derive"] + t["measures_from_file"]
            print(
                f"{n:>9,} pathways, {kind} time: derive {t['derive']:.1f} s + measures "
                f"{t['measures']:.1f} s = CLI {cli:.1f} s; derive + measures --pathways "
                f"{t['measures_from_file']:.1f} s = {from_file:.1f} s; pandas reference "
                f"{t['pandas']:.1f} s -> {t['pandas'] / cli:.2f}x and "
                f"{t['pandas'] / from_file:.2f}x faster (goal >= 5x at 200k); derive "
                f"with ledger {t['derive']:.1f} s / without {t['derive_library']:.1f} s = "
                f"{t['derive'] / t['derive_library']:.2f}x (goal <= 1.2x)",
                flush=True,
            )
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
