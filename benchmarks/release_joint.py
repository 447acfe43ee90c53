"""Benchmark: the joint audit and joint protection of a release (issue 16).

One synthetic extract; the documented routes into one release (``england,provider`` and
``provider,provider x gender`` for April-March, ``england,provider`` for May-March), each
output protected on its own by ``protect_measures``. Prints, for the release: cells, suppressed
cells, relations, the suppressed cells the joint attacker narrows below their width when
joint protection is off, what joint protection adds (cells, value mass), and the time of the
joint audit + protection beside the time of protecting the outputs one by one (the comparison).

    PYTHONPATH=src python benchmarks/release_joint.py [--pathways 3000] [--providers 4]
        [--families all] [--seed 11] [--notebooks]

``--notebooks`` times instead what a user runs, each command a fresh process: ``iaptkit
measures --by england,provider,age_band,gender,ethnic_group,imd_decile --release R`` (every
family) beside the report notebooks 02 (England and the first provider), 03 and 04 of the same
period (``iaptkit run``), then ``iaptkit release build R -o E --unsigned``; printed: outputs,
cells, cells shared between outputs, cells the joint protection added, and each step's wall
and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from iaptkit.data import load_extract
from iaptkit.measures.published import published_measures
from iaptkit.release import Release
from iaptkit.release.joint import run_joint_audit
from iaptkit.sdc import protect_measures
from iaptkit.synth.generate import write_synthetic

ROUTES = (
    (date(2023, 4, 1), ("england", "provider")),
    (date(2023, 4, 1), ("provider", "provider x gender")),
    (date(2023, 5, 1), ("england", "provider")),
)
START, END = date(2023, 4, 1), date(2024, 3, 31)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pathways", type=int, default=3000)
    parser.add_argument("--providers", type=int, default=4)
    parser.add_argument("--families", default="all")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--notebooks", action="store_true", help="the CLI route with notebooks")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="iaptkit-joint-"))
    write_synthetic(root / "extract", pathways=args.pathways, start="2023-04", months=12,
                    providers=args.providers, seed=args.seed, with_nhs_fields=True)  # fmt: skip
    if args.notebooks:
        notebook_route(root)
        return
    ex = load_extract(root / "extract")
    families = None if args.families == "all" else args.families.split(",")
    tables = [published_measures(ex, s, END, by, families=families) for s, by in ROUTES]
    ex.close()
    t0 = time.perf_counter()
    protected = [protect_measures(t, "nhs-sde") for t in tables]
    one_by_one = time.perf_counter() - t0
    for protect_on in (False, True):
        rel = Release.open_or_create(root / f"release_{protect_on}")
        for k, pm in enumerate(protected):
            rel.add_table(pm, name=f"route{k}")
        t0 = time.perf_counter()
        summary = run_joint_audit(rel, protect=protect_on)
        seconds = time.perf_counter() - t0
        what = "joint protection ON " if protect_on else "joint protection OFF"
        print(
            f"{what}: {summary['n_cells']} cells, {summary['n_suppressed']} suppressed, "
            f"{summary['n_relations']} relations, {summary['n_rates']} informative rates; "
            f"passed={summary['passed']}, at risk={summary.get('n_failures', 0)}, "
            f"added={summary['added']} (value mass {summary.get('value_mass', 0):g}); "
            f"{seconds:.2f} s"
        )
    print(
        f"protect_measures of the {len(protected)} outputs one by one: {one_by_one:.2f} s; "
        f"joint audit + protection / one-by-one protection = {seconds / one_by_one:.2f}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def _timed(label: str, args: list[str], cwd: Path) -> None:
    """Run one iaptkit command in a fresh process; print its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "iaptkit", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{label} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    print(f"  {label}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)


def notebook_route(root: Path) -> None:
    """``measures --release`` beside notebooks 02 (England, a provider), 03, 04; then build."""
    repo = Path(__file__).resolve().parents[1]
    extract, release, export = root / "extract", root / "release", root / "export"
    period = ["-p", f"start={START.isoformat()}", "-p", f"end={END.isoformat()}"]
    common = ["-p", f"extract={extract}", *period, "-p", f"output_dir={release}"]
    provider = sorted(load_extract(extract).table("IDS101Referral").OrgID_Provider.execute()
                      .dropna().unique())[0]  # fmt: skip
    t0 = time.perf_counter()
    by = "england,provider,age_band,gender,ethnic_group,imd_decile"
    _timed("measures --release (every family)", ["measures", str(extract), "--start",
           START.isoformat(), "--end", END.isoformat(), "--by", by, "--policy", "nhs-sde",
           "--release", str(release), "-o", str(root / "measures.csv")], repo)  # fmt: skip
    runs = root / "runs"
    for name, extra in (
        ("02_outcomes_report", ["-p", "provider="]),
        ("02_outcomes_report", ["-p", f"provider={provider}"]),
        ("03_waiting_times", []),
        ("04_inequalities", []),
    ):
        _timed(f"run {name} {' '.join(extra)}", ["run", f"notebooks/{name}.ipynb", "-o",
               str(runs), *common, *extra], repo)  # fmt: skip
    _timed("release build (joint audit)", ["release", "build", str(release), "-o", str(export),
           "--unsigned"], repo)  # fmt: skip
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    joint = manifest.get("joint_audit", {})
    print(
        f"notebook route: {len(manifest.get('outputs', []))} outputs exported; joint audit "
        f"{joint.get('n_cells', '?')} cells, {joint.get('n_suppressed', '?')} suppressed, "
        f"{joint.get('n_relations', '?')} relations, "
        f"{joint.get('added', '?')} cells added, passed={joint.get('passed', '?')}; "
        f"{time.perf_counter() - t0:.1f} s in all; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
