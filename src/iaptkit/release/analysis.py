"""Safe tables in one call: ``crosstab`` and ``pivot_table`` as in pandas, checked and registered.

What :meth:`iaptkit.release.Release.crosstab` and :meth:`~iaptkit.release.Release.pivot_table`
do (docs/safe-analysis.md):

- **counts** (``crosstab`` without values, ``aggfunc="count"``) go through
  :func:`iaptkit.sdc.protect`: primary and secondary suppression, the policy's rounding and the
  attacker audit; the table is registered with :meth:`~iaptkit.release.Release.add_table` and
  joins the release's joint audit;
- **aggregates** (mean, median, sum, std of a value) are judged cell by cell
  (:mod:`iaptkit.release.analysis_cells`: threshold, contributors, dominance, p%, negative
  values, identical values), sums and means with margins get secondary suppression, and the
  table is registered with the true values and contributors kept inside.

The result comes back as the pandas object pandas would return, suppressed cells ``NaN``
(published counts as the policy rounds them); a table is never refused: with ``suppress=False``
the unprotected numbers come back and the output is registered as ``fail``. Columns of an Ibis
table are aggregated in the engine (:mod:`iaptkit.release.analysis_engine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.release.analysis_cells import (
    AGGFUNCS,
    MARGIN,
    cell_stats,
    judge_cells,
    secondary_for_sums,
    suppression_summary,
    to_wide,
)
from iaptkit.release.analysis_engine import (
    engine_cell_stats,
    engine_counts,
    is_ibis,
    table_of_columns,
)
from iaptkit.release.analysis_record import CheckedOutput
from iaptkit.release.outputs import Output
from iaptkit.sdc import Policy, load_policy, protect
from iaptkit.sdc.checks import CheckRules
from iaptkit.sdc.protected import ProtectedTable
from iaptkit.sdc.tables import TOTAL

__all__ = ["Recorder", "safe_crosstab", "safe_pivot_table"]


class Recorder(Protocol):
    """What the safe-analysis calls need of a release (:class:`iaptkit.release.Release`)."""

    def add_table(self, pt: Any, **kwargs: Any) -> Output: ...

    def add_checked(self, result: CheckedOutput, **kwargs: Any) -> Output: ...


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _series_frame(parts: Sequence[Any], prefix: str) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.DataFrame()
    names: list[str] = []
    for i, s in enumerate(parts):
        series = pd.Series(s) if not isinstance(s, pd.Series) else s
        name = str(series.name) if series.name is not None else f"{prefix}_{i}"
        frame[name] = series.reset_index(drop=True)
        names.append(name)
    return frame, names


def _record(data: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    """The registration fields, with the definitions version of a pathway table by default."""
    out = dict(record)
    if (
        out.get("definitions_version") is None
        and isinstance(data, pd.DataFrame)
        and "definitions_version" in data.columns
    ):
        versions = data["definitions_version"].dropna().unique()
        if len(versions) == 1:
            out["definitions_version"] = str(versions[0])
    return out


_COUNT_REASONS = {
    "published": "",
    "structural_zero": "",
    "primary": "threshold: a count under the policy's threshold (protect)",
    "secondary": "secondary: hides a suppressed cell from its totals (protect's audit)",
}


def _count_piece(
    counts: pd.DataFrame,
    dims: list[str],
    pol: Policy,
    *,
    margins: bool,
    name: str,
    description: str,
) -> tuple[ProtectedTable | None, pd.DataFrame, str]:
    """Protect counts; the long result (value float, NaN hidden) and a refusal reason if any."""
    try:
        pt = protect(
            counts, dims, "n", policy=pol, margins=margins, name=name, description=description
        )
    except AuditFailedError as exc:
        long = counts[dims].copy()
        long["value"] = np.nan
        long["reason"] = "audit: the table could not be protected"
        return None, long, f"audit: {exc}"
    cells = pt.cells.copy()
    long = cells[dims].replace({TOTAL: MARGIN})
    long["value"] = cells["published"].astype("Float64").astype("float64").to_numpy()
    long["reason"] = [_COUNT_REASONS.get(str(s), f"{s}") for s in cells["status"]]
    long["true"] = cells["value"].to_numpy()
    return pt, long, ""


def _aggregate_piece(
    stats: pd.DataFrame, dims: list[str], agg: str, rules: CheckRules, *, margins: bool
) -> pd.DataFrame:
    reasons = judge_cells(stats, agg, rules)
    if agg in ("sum", "mean") and margins:
        # a margin's mean is the count-weighted mean of its cells: with counts published
        # elsewhere, one hidden mean in a line would be recoverable, as a hidden sum is
        reasons = secondary_for_sums(stats, dims, reasons)
    long = stats[dims].copy()
    long["true"] = stats[agg].to_numpy()
    long["n"] = stats["n"].to_numpy()
    long["reason"] = reasons.to_numpy()
    long["value"] = np.where(long["reason"].astype(bool), np.nan, long["true"])
    return long


def _check_agg(aggs: Sequence[str]) -> None:
    bad = [a for a in aggs if a not in AGGFUNCS]
    if bad:
        raise ConfigError(
            f"safe tables: expected aggfunc among {list(AGGFUNCS)} (minima and maxima of "
            f"individuals are never released); found {bad}"
        )


def _tabulate(
    rel: Any,
    source: Any,
    rows: list[str],
    cols: list[str],
    values: list[str],
    aggs: list[str],
    *,
    margins: bool,
    suppress: bool,
    policy: Policy | str,
    name: str,
    record: Mapping[str, Any],
    params: Mapping[str, Any],
) -> pd.DataFrame:
    _check_agg(aggs)
    pol = load_policy(policy)
    rules = CheckRules.from_policy(pol)
    dims = [*rows, *cols]
    engine = is_ibis(source)
    pieces: list[tuple[str, str, pd.DataFrame]] = []
    tables: list[ProtectedTable] = []
    refusals: list[str] = []
    review: list[str] = []
    for agg in aggs:
        for value in values or [""]:
            if agg == "count":
                if engine:
                    t = source if not value else source.filter(source[value].notnull())
                    counts = engine_counts(t, dims)
                else:
                    frame = source if not value else source[source[value].notna()]
                    counts = frame.dropna(subset=dims).astype({d: "string" for d in dims})
                    counts = counts.groupby(dims, sort=True).size().rename("n").reset_index()
                if not suppress:
                    long = _aggregate_piece(
                        _counts_stats(counts, dims, margins), dims, "count", rules, margins=margins
                    )
                    long["value"] = long["true"]
                    pieces.append((agg, value, long))
                    continue
                pt, long, refused = _count_piece(
                    counts, dims, pol, margins=margins, name=name, description=str(params)
                )
                if pt is not None:
                    tables.append(pt)
                if refused:
                    refusals.append(refused)
                pieces.append((agg, value, long))
                continue
            if not value:
                raise ConfigError(f"safe tables: aggfunc {agg!r} needs values=; found none")
            stats = (
                engine_cell_stats(source, dims, value, margins=margins)
                if engine
                else cell_stats(source, dims, value, margins=margins)
            )
            long = _aggregate_piece(stats, dims, agg, rules, margins=margins)
            if not suppress:
                long["value"] = long["true"]
            pieces.append((agg, value, long))
            if rules.dominance_n is None and rules.p_percent is None:
                review.append(
                    f"policy {pol.id} {pol.version} defines no dominance or p% rule: a checker "
                    f"must judge dominance of the {agg} of {value}"
                )
    published = _register(
        rel, pieces, tables, dims, pol, suppress=suppress, refusals=refusals, review=review,
        name=name, record=record, params=params,
    )  # fmt: skip
    single = len(pieces) == 1
    if single:
        return to_wide(pieces[0][2], rows, cols, "value").astype("float64")
    parts = []
    for agg, value, long in pieces:
        w = to_wide(long, rows, cols, "value")
        w = w if isinstance(w, pd.DataFrame) else w.to_frame()
        w.columns = pd.MultiIndex.from_tuples(
            [(agg, value, *(c if isinstance(c, tuple) else (c,))) for c in w.columns]
        )
        parts.append(w)
    del published
    return pd.concat(parts, axis=1).astype("float64")


def _counts_stats(counts: pd.DataFrame, dims: list[str], margins: bool) -> pd.DataFrame:
    rows = counts.loc[counts.index.repeat(counts["n"])][dims].reset_index(drop=True)
    return cell_stats(rows, dims, None, margins=margins)


def _register(
    rel: Any,
    pieces: list[tuple[str, str, pd.DataFrame]],
    tables: list[ProtectedTable],
    dims: list[str],
    pol: Policy,
    *,
    suppress: bool,
    refusals: list[str],
    review: list[str],
    name: str,
    record: Mapping[str, Any],
    params: Mapping[str, Any],
) -> Output:
    if suppress and len(pieces) == 1 and len(tables) == 1 and not refusals:
        out: Output = rel.add_table(tables[0], name=name, parameters=params, **record)
        return out
    exported, underlying = [], []
    for agg, value, long in pieces:
        e = long[dims].copy()
        e["statistic"], e["variable"] = agg, value
        e["value"] = [
            "*" if pd.isna(v) else (f"{v:g}" if agg == "count" else f"{v:.4g}")
            for v in long["value"]
        ]
        exported.append(e)
        u = long.copy()
        u["statistic"], u["variable"] = agg, value
        underlying.append(u)
    published = pd.concat(exported, ignore_index=True)
    published["policy_id"], published["policy_version"] = pol.id, pol.version
    inside = pd.concat(underlying, ignore_index=True)
    reasons = inside["reason"].fillna("")
    unsafe = reasons.astype(bool) & inside["value"].notna()
    statuses = ["fail" if refusals or unsafe.any() else "pass", *(["review"] if review else [])]
    said = [*refusals, suppression_summary(reasons)]
    if unsafe.any():
        said.insert(0, f"suppress=False: {int(unsafe.sum())} cell(s) published that break a rule")
    result = CheckedOutput(
        kind="table",
        published=published,
        underlying=inside,
        statuses=tuple(statuses),
        reasons=tuple([*said, *review]),
        policy_id=pol.id,
        policy_version=pol.version,
        dims=tuple(dims),
        parameters={**params, "magnitude": not tables},
        protected=tables[0] if len(tables) == 1 else None,
    )
    registered: Output = rel.add_checked(result, name=name, **record)
    return registered


def safe_crosstab(
    rel: Any,
    index: Any,
    columns: Any,
    values: Any = None,
    aggfunc: str | Sequence[str] | None = None,
    *,
    margins: bool = False,
    suppress: bool = True,
    policy: Policy | str = "nhs-sde",
    name: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """``pd.crosstab`` checked under ``policy`` and registered in ``rel`` (see the module).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
    >>> df = pd.DataFrame({"sex": ["F"] * 30 + ["M"] * 25 + ["X"] * 3,
    ...                    "rec": (["y", "n"] * 29)})
    >>> t = safe_crosstab(rel, df.sex, df.rec, policy="sdap", name="by_sex")
    >>> t.loc["X"].isna().all(), rel.output("by_sex").status
    (np.True_, 'pass')
    """
    rows_in, cols_in = _as_list(index), _as_list(columns)
    aggs = [] if aggfunc is None else _as_list(aggfunc)
    if (values is None) != (aggfunc is None):
        raise ConfigError("crosstab: expected values= and aggfunc= together (as pandas); found one")
    params = {"call": "crosstab", "aggfunc": aggs or ["count"], "margins": margins}
    if rows_in and all(is_ibis(c) for c in [*rows_in, *cols_in, *_as_list(values)]):
        table, names = table_of_columns([*rows_in, *cols_in, *_as_list(values)])
        rows, cols = names[: len(rows_in)], names[len(rows_in) : len(rows_in) + len(cols_in)]
        vals = names[len(rows_in) + len(cols_in) :]
        source: Any = table
    else:
        frame, rows = _series_frame(rows_in, "row")
        cframe, cols = _series_frame(cols_in, "col")
        frame = pd.concat([frame, cframe], axis=1)
        vals = []
        if values is not None:
            frame["values"] = pd.Series(values).reset_index(drop=True)
            vals = ["values"]
        source = frame
    label = name or "crosstab_" + "_by_".join([*rows, *cols])
    return _tabulate(
        rel, source, rows, cols, vals, aggs or ["count"], margins=margins, suppress=suppress,
        policy=policy, name=label, record=_record(None, record or {}),
        params={**params, "index": rows, "columns": cols, "values": vals},
    )  # fmt: skip


def safe_pivot_table(
    rel: Any,
    data: Any,
    values: str | Sequence[str] | None = None,
    index: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    aggfunc: str | Sequence[str] = "mean",
    *,
    margins: bool = False,
    suppress: bool = True,
    policy: Policy | str = "nhs-sde",
    name: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """``pd.pivot_table`` checked under ``policy`` and registered in ``rel`` (see the module).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
    >>> df = pd.DataFrame({"g": ["a"] * 20 + ["b"] * 4, "sessions": [2.0, 4.0] * 10 + [9.0] * 4})
    >>> safe_pivot_table(rel, df, "sessions", "g", policy="sdap", name="m")["sessions"].tolist()
    [3.0, nan]
    """
    rows, cols, vals = _as_list(index), _as_list(columns), _as_list(values)
    if not rows and not cols:
        raise ConfigError("pivot_table: expected index= or columns= (a grouping); found neither")
    aggs = _as_list(aggfunc)
    if not vals and aggs != ["count"]:
        raise ConfigError(f"pivot_table: aggfunc {aggs} needs values=; found none")
    params = {"call": "pivot_table", "index": rows, "columns": cols, "values": vals}
    label = name or "pivot_" + "_".join([*vals, "by", *rows, *cols])
    table = _tabulate(
        rel, data, rows, cols, vals, aggs, margins=margins, suppress=suppress, policy=policy,
        name=label, record=_record(data, record or {}),
        params={**params, "aggfunc": aggs, "margins": margins},
    )  # fmt: skip
    if isinstance(values, str) and isinstance(aggfunc, str) and not cols:
        table.columns = [values]
    return table
