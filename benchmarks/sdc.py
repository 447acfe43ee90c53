"""Benchmark: secondary suppression + attacker audit on IAPT-like tables.

Builds synthetic, realistically skewed count tables (providers x age band x gender
[x ethnic group], every margin) under the ``nhs-sde`` rules (counts under 10 suppressed,
zeros too; published counts rounded to the nearest 5), then runs secondary suppression and
the audit (exact up to 2,000 cells, proven inner bounds above), printing time, cells
suppressed (primary / secondary) and information loss (the sum of the secondary cells' values).

The solver is timed on a CellSpace built here (``method="auto"``: LP-guided up to 2,000 cells,
hypercubes above), then the full pipeline ``iaptkit.sdc.protect``. tau-Argus (via
``pytauargus``, optional ``bench`` extra) is compared on the 3-D table when available.

    .venv/bin/python benchmarks/sdc.py                 # 3-D (~1.1k cells) and 4-D (~8k cells)
    .venv/bin/python benchmarks/sdc.py --quick         # 3-D only
    .venv/bin/python benchmarks/sdc.py --lp-4d         # + LP-guided method on 4-D (~8 min)
    .venv/bin/python benchmarks/sdc.py --policy nhs-sde --methods modular,hypercube
    .venv/bin/python benchmarks/sdc.py --tau-argus-4d  # + tau-Argus on 4-D (very slow)
    .venv/bin/python benchmarks/sdc.py --big --timeout 240   # ~200k cells (5-D), protect only
    .venv/bin/python benchmarks/sdc.py --measures 3000,6000  # protect_measures, README's table

Each table is protected with every method of ``--methods`` (default ``modular`` and
``hypercube``; ``lp`` too on 3-D) under ``--policy`` (default ``nhs-hes``), and a
``[compare]`` line gives each method's secondary cells, value mass and time beside the
hypercube's.

Every run prints the information loss beside the output: cells suppressed (primary,
secondary) and the value mass suppressed (all, and the secondary part), time and peak memory.

Target (issue 4): the 4-D table in <= 30 s.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import resource
import sys
import tempfile
import time

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.sdc.audit import audit
from iaptkit.sdc.secondary import secondary_suppression
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import margins_grid

AGE = ("18-25", "26-35", "36-45", "46-55", "56-64", "65+", "Unknown")
AGE_P = (0.22, 0.24, 0.19, 0.16, 0.10, 0.07, 0.02)
GENDER = ("Female", "Male", "Other")
GENDER_P = (0.63, 0.35, 0.02)
ETHNIC = ("White", "Asian", "Black", "Mixed", "Other")
ETHNIC_P = (0.74, 0.10, 0.06, 0.05, 0.05)


def iapt_counts(n_providers: int, with_ethnicity: bool, seed: int = 2026) -> pd.DataFrame:
    """Synthetic counts by provider x age x gender [x ethnicity], skewed like IAPT data."""
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(mean=8.4, sigma=0.9, size=n_providers)  # ~6k referrals each
    dims: list[tuple[str, ...]] = [tuple(f"R{p:03d}" for p in range(n_providers)), AGE, GENDER]
    probs: list[tuple[float, ...]] = [tuple(sizes / sizes.sum()), AGE_P, GENDER_P]
    if with_ethnicity:
        dims.append(ETHNIC)
        probs.append(ETHNIC_P)
    total = float(sizes.sum())
    expected = total
    for p in probs:
        expected = np.multiply.outer(expected, np.asarray(p))
    counts = rng.poisson(expected)
    names = ["provider", "age_band", "gender", "ethnic_group"][: len(dims)]
    index = pd.MultiIndex.from_product(dims, names=names)
    return pd.DataFrame({"count": counts.reshape(-1)}, index=index).reset_index()


def big_counts(n_providers: int = 120, months: int = 8, seed: int = 2026) -> pd.DataFrame:
    """About 200,000 cells with margins: provider x age x gender x ethnicity x month."""
    df = iapt_counts(n_providers, True, seed)
    rng = np.random.default_rng(seed + 1)
    share = rng.dirichlet(np.full(months, 20.0), size=len(df))
    monthly = rng.binomial(df["count"].to_numpy()[:, None], np.clip(share, 0, 1))
    out = df.loc[df.index.repeat(months)].reset_index(drop=True)
    out["month"] = np.tile([f"M{m:02d}" for m in range(months)], len(df))
    out["count"] = monthly.reshape(-1)
    return out


def grid_relations(shape: tuple[int, ...]) -> sparse.csr_matrix:
    """Rows ``sum(parts) - total = 0`` along every axis (last index of an axis = its total)."""
    idx = np.arange(math.prod(shape)).reshape(shape)
    rows, cols, vals = [], [], []
    r = 0
    for axis, size in enumerate(shape):
        lines = np.moveaxis(idx, axis, -1).reshape(-1, size)
        k = lines.shape[0]
        rr = np.repeat(np.arange(r, r + k), size)
        rows.append(rr)
        cols.append(lines.reshape(-1))
        v = np.ones((k, size))
        v[:, -1] = -1.0
        vals.append(v.reshape(-1))
        r += k
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r, math.prod(shape)),
    )


def nhs_sde_space(inner: npt.NDArray[np.int64], grid: bool = True) -> CellSpace:
    """A CellSpace under nhs-sde: < 10 suppressed (zeros too), others rounded to nearest 5."""
    full = inner.astype(np.int64)
    for axis in range(full.ndim):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    shape = full.shape
    v = full.reshape(-1)
    n = v.size
    rounded = ((v + 2) // 5) * 5
    pub_lo = np.where(v >= 10, np.maximum(rounded - 2, 10), v).astype(float)
    pub_hi = np.where(v >= 10, rounded + 2, v).astype(float)
    level = sum(
        (np.indices(shape)[a] == shape[a] - 1).astype(int) for a in range(len(shape))
    ).reshape(-1)
    labels = tuple(
        "/".join("T" if i == s - 1 else str(i) for i, s in zip(ix, shape, strict=True))
        for ix in itertools.product(*(range(s) for s in shape))
    )
    return CellSpace(
        values=v,
        relations=grid_relations(shape),
        published_lower=pub_lo,
        published_upper=pub_hi,
        suppressed_lower=np.zeros(n),
        suppressed_upper=np.full(n, np.inf),
        primary=v < 10,
        structural_zero=np.zeros(n, dtype=bool),
        protection_width=np.full(n, 10.0),
        cost=(v + 1.0) * (1.0 + level),
        labels=labels,
        grids=(margins_grid(shape),) if grid else (),
    )


def run_solver(name: str, df: pd.DataFrame, dims: list[str], method: str = "auto") -> None:
    """Secondary suppression + audit on the table built here (``method`` of the solver)."""
    inner = df.set_index(dims)["count"].to_numpy().reshape([df[d].nunique() for d in dims])
    space = nhs_sde_space(inner)
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "secondary":
            print(
                f"  [{time.perf_counter() - t0:7.1f}s] {name}: {done} suppressed, "
                f"{total} cells still failing",
                file=sys.stderr,
                flush=True,
            )

    mask = secondary_suppression(space, progress=progress, method=method)
    t1 = time.perf_counter()
    # large tables: a sufficient audit (proven inner bounds, same verdict), as solve_cells does
    mode = "sufficient" if space.n_cells > 2000 else "exact"
    cert = audit(space, mask, mode=mode)
    t2 = time.perf_counter()
    n_prim = int(space.primary.sum())
    n_sec = int((mask & ~space.primary).sum())
    sec_value = int(space.values[mask & ~space.primary].sum())
    inner_total = int(inner.sum())
    print(
        f"[solver] {name}: {space.n_cells} cells, {space.relations.shape[0]} relations; "
        f"primary {n_prim}, secondary {n_sec} (sum of secondary values {sec_value}, "
        f"{100.0 * sec_value / max(inner_total, 1):.2f}% of the grand total x margins); "
        f"secondary {t1 - t0:.2f}s, audit {t2 - t1:.2f}s ({cert.n_lp} LPs, "
        f"{cert.n_components} components, {cert.method}), passed={cert.passed}; "
        f"total {t2 - t0:.2f}s"
    )


def _peak_mb() -> float:
    """Peak resident memory of this process, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_protect(
    name: str,
    df: pd.DataFrame,
    dims: list[str],
    cost: str = "value",
    timeout: float | None = None,
    policy: str = "nhs-sde",
    method: str = "auto",
) -> dict[str, float]:
    """The full pipeline through iaptkit.sdc.protect (secondary ``method``, then the audit)."""
    from iaptkit.sdc import protect

    t0 = time.perf_counter()
    c0 = time.process_time()
    last: dict[str, object] = {"stage": "", "tenth": -1}

    def progress(stage: str, done: int, total: int) -> None:
        tenth = 10 * done // total if total > 0 else 0
        if stage != last["stage"] or tenth != last["tenth"]:
            last["stage"], last["tenth"] = stage, tenth
            print(
                f"  [{time.perf_counter() - t0:7.1f}s wall, {time.process_time() - c0:7.1f}s CPU]"
                f" {name}: stage {stage} {done}/{total}",
                file=sys.stderr,
                flush=True,
            )

    pt = protect(
        df, dims, "count", policy=policy, name=name, cost=cost, timeout=timeout,
        progress=progress, secondary=method,
    )  # fmt: skip
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    loss = dict(pt.info_loss)
    print(
        f"[protect] {name} policy={policy} method={method} (cost={cost}, timeout={timeout}): "
        f"{len(pt.cells)} cells; suppressed {int(loss['suppressed_primary'])} primary + "
        f"{int(loss['suppressed_secondary'])} secondary = "
        f"{int(loss['suppressed_primary'] + loss['suppressed_secondary'])}; value mass "
        f"suppressed {int(loss['suppressed_value'])} (secondary {int(loss['secondary_value'])}); "
        f"timed_out={bool(loss['timed_out'])} fallback={bool(loss['fallback'])}; audit "
        f"passed={pt.audit_passed} ({pt.certificate.method}); {dt:.2f}s wall, {cpu:.2f}s CPU "
        f"(user+system), peak memory {_peak_mb():.0f} MB; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    loss["seconds"] = dt
    return loss


def compare(name: str, results: dict[str, dict[str, float]], base: str = "hypercube") -> None:
    """One line per method: secondary cells, value mass and time as ratios to ``base``."""
    if base not in results:
        return
    b = results[base]
    for method, r in results.items():
        if method == base:
            continue
        print(
            f"[compare] {name}: {method} vs {base}: secondary cells "
            f"{int(r['suppressed_secondary'])} vs {int(b['suppressed_secondary'])} "
            f"({r['suppressed_secondary'] / max(b['suppressed_secondary'], 1):.2f}x), secondary "
            f"value {int(r['secondary_value'])} vs {int(b['secondary_value'])} "
            f"({r['secondary_value'] / max(b['secondary_value'], 1):.2f}x), all suppressed "
            f"{int(r['suppressed_primary'] + r['suppressed_secondary'])} vs "
            f"{int(b['suppressed_primary'] + b['suppressed_secondary'])}, time "
            f"{r['seconds']:.1f}s vs {b['seconds']:.1f}s"
        )


def run_tauargus(name: str, df: pd.DataFrame, dims: list[str]) -> None:
    """tau-Argus modular suppression (HiTaS) through pytauargus on the same table, if installed.

    tau-Argus works from microdata, so one row per counted person is built. Its frequency rule
    ``FREQ(10,0)`` marks cells under 10 unsafe; it models neither rounding nor zeros (empty
    cells are ``E``), so the counts are comparable only roughly.
    """
    try:
        import pytauargus  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print(f"[tau-argus] {name}: pytauargus is not installed; skipped")
        return
    micro = df.loc[df.index.repeat(df["count"]), dims].reset_index(drop=True)
    micro["one"] = 1
    t0 = time.perf_counter()
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="iaptkit-tauargus-") as work:
        os.chdir(work)  # the engine writes HiTaS.log / cspSCIP.* into the working directory
        try:
            res = pytauargus.protect(
                micro, dims, "one", safety_rules="FREQ(10,0)", suppress="MOD(1)", workdir=work
            )
            table = res.tables[0].dataframe()
        except Exception as exc:  # the engine may be missing: report, do not fail
            print(f"[tau-argus] {name}: could not run ({type(exc).__name__}: {exc}); skipped")
            return
        finally:
            os.chdir(here)
    dt = time.perf_counter() - t0
    status = table["status"].value_counts().to_dict()
    print(
        f"[tau-argus] {name}: MOD(1) (modular) from {len(micro)} microdata rows: "
        f"{len(table)} cells, unsafe (primary) {status.get('U', 0)}, secondary "
        f"{status.get('M', 0)}, empty {status.get('E', 0)}; {dt:.2f}s"
    )


def run_protect_measures(pathways: int, policy: str) -> None:
    """``protect_measures`` as the README calls it, on a synthetic extract of ``pathways``.

    Prints the table's size, each stage's first report and the time from the start, then the
    cells suppressed (primary, secondary), the value mass of the secondaries, time, CPU time
    and peak memory of the whole process.
    """
    from datetime import date

    import iaptkit
    from iaptkit.synth.generate import write_synthetic

    name = f"measures table, {pathways:,} pathways"
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic(tmp, pathways=pathways, with_nhs_fields=True, seed=1)
        extract = iaptkit.load_extract(tmp)
        table = iaptkit.published_measures(
            extract,
            date(2023, 4, 1),
            date(2024, 3, 31),
            by=("england", "provider", "provider x imd_decile"),
        )
    kinds = table["kind"].value_counts().to_dict()
    print(f"[measures] {name}: {len(table):,} rows {kinds}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    seen: set[str] = set()

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in seen:
            seen.add(stage)
            print(f"  [{time.perf_counter() - t0:7.1f}s] stage {stage}", flush=True)

    pm = iaptkit.protect_measures(table, policy=policy, progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cells = pm.cells
    status = cells["status"].value_counts().to_dict()
    sec = cells["status"] == "secondary"
    value = pd.to_numeric(cells.loc[sec, "true_value"], errors="coerce").sum()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"[protect_measures] {name}, policy={policy}: {int((cells['kind'] == 'count').sum()):,} "
        f"counts; suppressed {status.get('primary', 0):,} primary + {status.get('secondary', 0):,}"
        f" secondary (value mass {value:,.0f}); audit passed={pm.certificate.passed}; "
        f"{wall:.1f}s wall, {cpu:.1f}s CPU, peak memory {peak:,.0f} MB (process); "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3-D table only")
    parser.add_argument("--only-4d", action="store_true", help="4-D table only")
    parser.add_argument(
        "--tau-argus-4d",
        action="store_true",
        help="also run tau-Argus on the 4-D table (it did not finish in 15 CPU-minutes here)",
    )
    parser.add_argument(
        "--lp-4d",
        action="store_true",
        help="also run the LP-guided secondary suppression on the 4-D table (about 8 minutes)",
    )
    parser.add_argument("--cost", default="value", help="value, cells or a weight in [0, 1]")
    parser.add_argument("--timeout", type=float, default=None, help="search timeout (s)")
    parser.add_argument("--policy", default="nhs-hes", help="policy of the protect() runs")
    parser.add_argument(
        "--methods",
        default="modular,hypercube",
        help="secondary methods compared through protect() (lp is added on 3-D, and on 4-D "
        "with --lp-4d)",
    )
    parser.add_argument("--solver", action="store_true", help="also the solver-only nhs-sde runs")
    parser.add_argument(
        "--big",
        action="store_true",
        help="only the ~200,000-cell table (provider x age x gender x ethnicity x month)",
    )
    parser.add_argument(
        "--measures",
        default="",
        help="only protect_measures on the README's measures table (every family by england, "
        "provider and provider x imd_decile) of synthetic extracts of these pathway counts",
    )
    parser.add_argument(
        "--prepass-everywhere",
        action="store_true",
        help="with --measures, run each size again with the audit's local-LP pre-pass on every "
        "component (PREPASS_ABOVE = 0, how it was before the fifteenth session) to compare",
    )
    args = parser.parse_args(argv)
    if args.measures:
        from iaptkit.sdc import attack

        policy = args.policy if args.policy != "nhs-hes" else "nhs-sde"
        for n in (int(x) for x in args.measures.split(",") if x):
            run_protect_measures(n, policy)
            if args.prepass_everywhere:
                default = attack.PREPASS_ABOVE
                attack.PREPASS_ABOVE = 0
                print("  again with the pre-pass on every component:", flush=True)
                run_protect_measures(n, policy)
                attack.PREPASS_ABOVE = default
        return 0
    methods = [m for m in args.methods.split(",") if m]
    if args.big:
        df = big_counts()
        dims = ["provider", "age_band", "gender", "ethnic_group", "month"]
        big: dict[str, dict[str, float]] = {}
        for method in methods:
            big[method] = run_protect(
                "5-D ~200k cells", df, dims, args.cost, args.timeout, args.policy, method
            )
        compare("5-D ~200k cells", big)
        return 0
    cases = [] if args.only_4d else [("3-D provider x age x gender", 34, False)]
    if not args.quick:
        cases.append(("4-D provider x age x gender x ethnicity", 41, True))
    for name, n_prov, eth in cases:
        df = iapt_counts(n_prov, eth)
        dims = ["provider", "age_band", "gender"] + (["ethnic_group"] if eth else [])
        if args.solver:
            run_solver(name, df, dims)
        results: dict[str, dict[str, float]] = {}
        run = methods + (["lp"] if (not eth or args.lp_4d) and "lp" not in methods else [])
        for method in run:
            results[method] = run_protect(
                name, df, dims, args.cost, args.timeout, args.policy, method
            )
        compare(name, results)
        if not eth or args.tau_argus_4d:
            run_tauargus(name, df, dims)
        else:
            print(f"[tau-argus] {name}: skipped (pass --tau-argus-4d)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
