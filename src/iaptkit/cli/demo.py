"""The end-to-end demo: ``python -m iaptkit.cli.demo --out demo`` (what ``make demo`` runs).

Steps, each reported on stderr:

1. a synthetic extract (``OUT/extract``, ~20,000 pathways with the NHS-derived fields; reused
   when it is already there, so a second run is quick);
2. validation of the extract, and an unprotected count table
   (``OUT/tables/referrals_by_provider_age_band.csv``, the input of ``iaptkit protect`` in the
   README);
3. the four report notebooks run through the runner, with outputs registered in a fresh release
   folder (``OUT/release``): 01 data quality, 02 outcomes for England and three providers (a
   parameter grid), 03 waiting times, 04 inequalities; executed notebooks in ``OUT/runs``;
4. the release built into ``OUT/export`` (only releasable outputs, manifest with checksums,
   ACRO ``results.json``, report) and verified;
5. where the checker's report (with the underlying counts, inside the environment) and the
   export are.

Synthetic data only: never real data.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from iaptkit.errors import IaptkitError, ReleaseError

__all__ = ["DemoResult", "demo_command", "main", "run_demo"]

NOTEBOOKS = ("01_data_quality", "02_outcomes_report", "03_waiting_times", "04_inequalities")
START, END = "2023-04-01", "2024-03-31"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and how its runs went."""

    extract: Path
    release: Path
    export: Path
    checker_report: Path
    runs: Path
    failed_runs: tuple[str, ...]
    exported: tuple[str, ...]
    excluded: dict[str, str]
    seconds: float


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (the demo runs from a source checkout)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        candidate = folder / "notebooks"
        if (candidate / "01_data_quality.ipynb").is_file():
            return candidate
    raise IaptkitError(
        f"the demo needs the report notebooks: expected notebooks/01_data_quality.ipynb in a "
        f"folder above {here.parent}; found none (run the demo from a source checkout)"
    )


def ensure_extract(folder: Path, *, pathways: int, console: Console) -> Path:
    """Write the synthetic extract unless one made with the same size is already there."""
    from iaptkit.synth.generate import write_synthetic

    meta = folder / "_synth.json"
    if meta.is_file():
        try:
            recorded = json.loads(meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            recorded = {}
        params = recorded.get("parameters", recorded)
        if params.get("pathways") == pathways and params.get("with_nhs_fields") is True:
            console.print(f"[green]reusing[/] the synthetic extract in {folder}")
            return folder
    if folder.exists():
        shutil.rmtree(folder)
    console.print(f"writing a synthetic extract of {pathways:,} pathways to {folder} ...")
    summary = write_synthetic(folder, pathways=pathways, with_nhs_fields=True, seed=1)
    console.print(f"  {sum(summary.rows.values()):,} rows in {summary.seconds:.1f} s")
    return folder


def counts_table(ext: Any, path: Path, console: Console) -> Path:
    """Write an UNPROTECTED count table (referrals by provider and age band, 2023-24) to ``path``.

    The input of ``iaptkit protect`` in the README; it stays inside the environment.

    Parameters
    ----------
    ext
        The opened demo extract.
    path
        The CSV file to write (columns ``provider``, ``age_band``, ``n``).
    console
        Where to say so.

    Returns
    -------
    Path
        ``path``.
    """
    from datetime import date

    from iaptkit.notebooks.context import pathway_indicators

    pw = pathway_indicators(ext, date(2023, 4, 1), date(2024, 3, 31))
    referrals = pw.loc[pw["referrals_received"]]
    counts = referrals.groupby(["provider", "age_band"], as_index=False, observed=True).size()
    path.parent.mkdir(parents=True, exist_ok=True)
    counts.rename(columns={"size": "n"}).to_csv(path, index=False)
    console.print(f"count table for `iaptkit protect` (unprotected, stays inside): {path}")
    return path


def run_demo(
    out: str | Path, *, pathways: int = 20_000, providers_in_grid: int = 3, workers: int = 2
) -> DemoResult:
    """Run the whole demo into ``out`` (see the module docstring).

    Parameters
    ----------
    out
        The demo folder (created; the extract inside is reused, the release rebuilt).
    pathways
        Size of the synthetic extract.
    providers_in_grid
        How many providers get their own outcomes report besides England.
    workers
        Notebook runs at once for the outcomes grid.

    Returns
    -------
    DemoResult

    Notes
    -----
    Everything is synthetic (iaptkit.synth.generate); outputs are protected under the default
    policy ``nhs-sde`` (docs/disclosure-control.md).
    """
    from iaptkit.cli.data import render_report
    from iaptkit.data import load_extract
    from iaptkit.notebooks.runner import run_grid
    from iaptkit.release import Release, build, verify
    from iaptkit.release.signing import generate_key

    started = time.perf_counter()
    console = Console(stderr=True)
    root = Path(out).resolve()
    root.mkdir(parents=True, exist_ok=True)
    release = root / "release"
    if release.exists() and not (release / "release.json").exists():
        # refused before the extract is made: nothing of the user's is touched, no time lost
        raise ReleaseError(
            f"{release} exists and is not an iaptkit release (no release.json); "
            "move it away or choose another --out"
        )
    extract = ensure_extract(root / "extract", pathways=pathways, console=console)

    console.rule("validation")
    ext = load_extract(extract)
    render_report(ext.validate(), console)
    providers = sorted(
        str(p)
        for p in ext.counted("IDS101Referral")
        .select("OrgID_Provider")
        .distinct()
        .execute()["OrgID_Provider"]
    )
    counts_table(ext, root / "tables" / "referrals_by_provider_age_band.csv", console)
    ext.close()

    if release.exists():  # a fresh release each run (the demo is idempotent)
        Release.open(release).delete()
    runs = root / "runs"
    base = {
        "extract": str(extract),
        "start": START,
        "end": END,
        "policy": "nhs-sde",
        "output_dir": str(release),
    }
    folder = notebooks_dir()
    failed: list[str] = []
    for name in NOTEBOOKS:
        console.rule(name)
        grid = [base]
        if name == "02_outcomes_report":
            grid += [{**base, "provider": p} for p in providers[:providers_in_grid]]
        summary = run_grid(
            folder / f"{name}.ipynb",
            grid,
            runs,
            workers=workers if len(grid) > 1 else 1,
            progress=lambda label, done, total: console.print(f"  {label}: {done}/{total}"),
        )
        for r in summary.results:
            mark = "[green]ok[/]" if r.status == "ok" else "[bold red]failed[/]"
            console.print(f"  {mark} {r.output.name} ({r.seconds:.0f} s)")
            if r.error:
                console.print(f"    {escape(r.error)}", highlight=False, soft_wrap=True)
                failed.append(r.error)

    console.rule("release")
    export = root / "export"
    if export.exists():
        if not (export / "manifest.json").exists():
            raise ReleaseError(
                f"{export} exists and is not an iaptkit export (no manifest.json); "
                "move it away or choose another --out"
            )
        shutil.rmtree(export)
    # the demo signs with its own key beside the export (a real release: 'iaptkit release keygen')
    key = root / "keys" / "demo-release-key.pem"
    if not key.is_file():
        generate_key(key)
    built = build(release, export, key=key)
    problems = verify(export)
    if problems:
        raise ReleaseError(f"the export {export} failed verification: {problems}")
    rel = Release.open(release)
    statuses: dict[str, int] = {}
    for o in rel.outputs:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    console.print(f"outputs registered: {len(rel.outputs)} ({statuses})")
    console.print(f"exported: {len(built.exported)}; left out: {len(built.excluded)}")
    for uid, why in sorted(built.excluded.items()):
        console.print(f"  left out {uid}: {escape(why)}", highlight=False, soft_wrap=True)
    result = DemoResult(
        extract=extract,
        release=release,
        export=export,
        checker_report=built.checker_report,
        runs=runs,
        failed_runs=tuple(failed),
        exported=tuple(built.exported),
        excluded=dict(built.excluded),
        seconds=time.perf_counter() - started,
    )
    console.rule("done")
    console.print(f"executed notebooks:  {runs}")
    console.print(f"checker's report:    {result.checker_report}  (inside the environment only)")
    console.print(
        f"export for review:   {export}  (report.html, results.json, manifest.json, "
        f"seal.json signed with the demo key {key})"
    )
    console.print(f"finished in {result.seconds:.0f} s")
    return result


def demo_command(out: str | Path, *, pathways: int = 20_000, workers: int = 2) -> int:
    """``iaptkit demo [--out DIR] [--pathways N] [--workers N]``: :func:`run_demo`, as an exit code.

    Parameters
    ----------
    out, pathways, workers
        As for :func:`run_demo`.

    Returns
    -------
    int
        0 when every notebook run succeeded, 1 when any failed (user errors are raised, for the
        command line to report).
    """
    result = run_demo(out, pathways=pathways, workers=workers)
    return 1 if result.failed_runs else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m iaptkit.cli.demo [--out DIR] [--pathways N]``; exit 1 if any notebook failed."""
    parser = argparse.ArgumentParser(prog="python -m iaptkit.cli.demo", description=__doc__)
    parser.add_argument("--out", default="demo", help="demo folder (default: demo)")
    parser.add_argument("--pathways", type=int, default=20_000, help="synthetic pathways")
    parser.add_argument("--workers", type=int, default=2, help="notebook runs at once")
    args: Any = parser.parse_args(argv)
    try:
        return demo_command(args.out, pathways=args.pathways, workers=args.workers)
    except IaptkitError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]error:[/] {escape(exc.message)}", highlight=False
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
