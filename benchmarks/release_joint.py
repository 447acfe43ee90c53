"""Benchmark: the joint audit and joint protection of a release (issue 16).

One synthetic extract; the documented routes into one release (``england,provider`` and
``provider,provider x gender`` for April-March, ``england,provider`` for May-March), each
output protected on its own by ``protect_measures``. Prints, for the release: cells, suppressed
cells, relations, the suppressed cells the joint attacker narrows below their width when
joint protection is off, what joint protection adds (cells, value mass), and the time of the
joint audit + protection beside the time of protecting the outputs one by one (the comparison).

    PYTHONPATH=src python benchmarks/release_joint.py [--pathways 3000] [--providers 4]
        [--families all] [--seed 11]
"""

from __future__ import annotations

import argparse
import os
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
END = date(2024, 3, 31)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pathways", type=int, default=3000)
    parser.add_argument("--providers", type=int, default=4)
    parser.add_argument("--families", default="all")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="iaptkit-joint-"))
    write_synthetic(root / "extract", pathways=args.pathways, start="2023-04", months=12,
                    providers=args.providers, seed=args.seed)  # fmt: skip
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


if __name__ == "__main__":
    main()
