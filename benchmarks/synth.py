"""Benchmark: synthetic extract generation rate and peak memory (issue 2).

Usage::

    nice -n 10 python benchmarks/synth.py           # 100 k and 1.8 M pathways, 12 months
    python benchmarks/synth.py --quick              # 100 k only
    python benchmarks/synth.py --nhs-fields         # also compute the NHS-derived fields

Each size runs in its own child process so that its peak RSS (``wait4`` rusage) is its own.
The extract is written to a temporary folder and deleted. Targets: well over 20 k pathways/s,
and a national year (1.8 M pathways, 12 months) within 4 GB of memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_GB = 4.0
TARGET_RATE = 20_000


def _one(pathways: int, out: str, nhs: bool) -> None:
    from iaptkit.synth.generate import write_synthetic

    started = time.perf_counter()
    cpu = time.process_time()
    summary = write_synthetic(out, pathways=pathways, months=12, providers=120, seed=1,
                              with_nhs_fields=nhs)  # fmt: skip
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "rows": sum(summary.rows.values()), "bytes": size}
        )
    )


def _run(pathways: int, nhs: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="iaptkit-synth-bench-") as tmp:
        out = os.path.join(tmp, "extract")
        cmd = [sys.executable, __file__, "--one", str(pathways), out]
        if nhs:
            cmd.append("--nhs-fields")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        text = proc.stdout.read() if proc.stdout else ""
        if status != 0:
            raise SystemExit(f"benchmark child failed for {pathways:,} pathways")
        shutil.rmtree(out, ignore_errors=True)
    result = json.loads(text.strip().splitlines()[-1])
    result["peak_gb"] = usage.ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux
    result["rate"] = pathways / result["seconds"]
    # CPU time of the generation (imports excluded): on a shared machine the wall-clock rate
    # understates the generator
    result["cpu_rate"] = pathways / max(result["cpu"], 1e-9)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run only 100 k pathways")
    parser.add_argument("--nhs-fields", action="store_true", help="write the NHS-derived fields")
    parser.add_argument("--one", nargs=2, metavar=("PATHWAYS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(int(args.one[0]), args.one[1], args.nhs_fields)
        return
    sizes = (100_000,) if args.quick else (100_000, 1_800_000)
    print(f"synthetic extract, 12 months, 120 providers, NHS fields: {args.nhs_fields}")
    print(f"{'pathways':>10} {'wall s':>7} {'CPU s':>7} {'pathways/s':>11} {'per CPU s':>10} "
          f"{'rows':>12} {'MB':>6} {'peak RSS':>9}  verdict")  # fmt: skip
    for n in sizes:
        r = _run(n, args.nhs_fields)
        ok_rate = r["cpu_rate"] > TARGET_RATE
        ok_mem = r["peak_gb"] < LIMIT_GB
        verdict = (
            f"rate per CPU second {'>' if ok_rate else '<='} {TARGET_RATE:,}/s, "
            f"memory {'<' if ok_mem else '>='} {LIMIT_GB:.0f} GB"
        )
        print(
            f"{n:>10,} {r['seconds']:>7.1f} {r['cpu']:>7.1f} {r['rate']:>11,.0f} "
            f"{r['cpu_rate']:>10,.0f} {int(r['rows']):>12,} {r['bytes'] / 1e6:>6.0f} "
            f"{r['peak_gb']:>7.2f}GB  {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
