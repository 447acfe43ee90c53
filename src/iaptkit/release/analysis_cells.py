"""The cells of an aggregate table (mean, median, sum, std, count of a value) and their rules.

:func:`cell_stats` computes, for every cell of the full cross of the dims' labels and, with
margins, every marginal cell (labelled ``"All"`` as in pandas), the statistics the rules need:
contributors (rows with a value), total, the two largest contributions, whether any value is
negative, and the aggregates themselves. :func:`judge_cells` applies the policy's rules for
derived statistics (docs/disclosure-control.md, "Derived statistics"; the same formulas as
:func:`iaptkit.sdc.checks.check_magnitude` and :func:`~iaptkit.sdc.checks.check_summary`):

``threshold``        fewer contributors than the policy's threshold (every statistic)
``min-contributors`` a mean, median, std or sum over fewer than ``min_contributors``
``dominance``        the ``n`` largest contributions make more than ``k`` % of the total
``p-percent``        the total less the two largest is under ``p`` % of the largest
``negative``         negative values: dominance cannot be assessed (ACRO's rule too)
``same-values``      every contribution in the cell is the same value (each one is shown)

:func:`secondary_for_sums` adds cells so that no suppressed sum can be recovered from its margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.sdc.checks import CheckRules

__all__ = [
    "AGGFUNCS",
    "MARGIN",
    "cell_stats",
    "complete_cells",
    "judge_cells",
    "margin_sets",
    "secondary_for_sums",
    "suppression_summary",
    "to_wide",
]

#: Statistics the safe tables compute (pandas names).
AGGFUNCS: tuple[str, ...] = ("count", "mean", "median", "sum", "std")
#: Label of marginal cells, as pandas' ``margins_name``.
MARGIN = "All"
_MAGNITUDE = frozenset({"mean", "median", "sum", "std"})


def cell_stats(
    data: pd.DataFrame, dims: Sequence[str], value: str | None, *, margins: bool
) -> pd.DataFrame:
    """Per-cell statistics of ``value`` by ``dims`` (labels as text), margins as ``"All"``.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "b"], "v": [1.0, 3.0, 5.0]})
    >>> s = cell_stats(df, ["g"], "v", margins=True)
    >>> s[["g", "n", "sum", "top1", "top2", "mean"]].to_dict("list")
    {'g': ['a', 'b', 'All'], 'n': [2, 1, 3], 'sum': [4.0, 5.0, 9.0], 'top1': [3.0, 5.0, 5.0], \
'top2': [1.0, 0.0, 3.0], 'mean': [2.0, 5.0, 3.0]}
    """
    dims = list(dims)
    frame = data[dims].copy()
    for d in dims:
        frame[d] = frame[d].astype("string")
    frame = frame.dropna(subset=dims)
    if value is None:
        frame["_v"] = 1.0
    else:
        frame["_v"] = pd.to_numeric(data.loc[frame.index, value], errors="coerce").astype("float64")
    parts = []
    for summed in margin_sets(dims, margins):
        sub = frame.copy()
        for d in summed:
            sub[d] = MARGIN
        parts.append(_group_stats(sub, dims))
    return complete_cells(pd.concat(parts, ignore_index=True), dims, margins)


def margin_sets(dims: Sequence[str], margins: bool) -> list[tuple[str, ...]]:
    """The sets of dims summed over: none, and with margins every combination.

    Examples
    --------
    >>> margin_sets(["a", "b"], True)
    [(), ('a',), ('b',), ('a', 'b')]
    """
    if not margins:
        return [()]
    return [c for r in range(len(dims) + 1) for c in combinations(dims, r)]


def complete_cells(stats: pd.DataFrame, dims: Sequence[str], margins: bool) -> pd.DataFrame:
    """``stats`` on the full cross of the dims' labels (absent cells have ``n`` 0), sorted.

    Examples
    --------
    >>> s = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "n": [12, 15],
    ...                   "negative": [False, False]})
    >>> complete_cells(s, ["a", "b"], False)[["a", "b", "n"]].values.tolist()
    [['x', 'u', 12], ['x', 'v', 0], ['y', 'u', 0], ['y', 'v', 15]]
    """
    dims = list(dims)
    stats = stats.copy()
    if dims:
        for d in dims:
            stats[d] = stats[d].astype(object)
        inner = stats[[d for d in dims]]
        labels = {
            d: sorted(str(v) for v in inner[d].dropna().unique().tolist() if v != MARGIN)
            for d in dims
        }
        full = pd.MultiIndex.from_product(
            [[*labels[d], *([MARGIN] if margins else [])] for d in dims], names=dims
        ).to_frame(index=False)
        for d in dims:
            full[d] = full[d].astype(object)
            stats[d] = stats[d].map(str)
        stats = full.merge(stats, on=dims, how="left")
    stats["n"] = stats["n"].fillna(0).astype("int64")
    stats["negative"] = stats["negative"].fillna(False).astype(bool)
    stats["is_margin"] = np.zeros(len(stats), dtype=bool)
    for d in dims:
        stats["is_margin"] |= (stats[d] == MARGIN).to_numpy()
    return stats.reset_index(drop=True)


def _group_stats(frame: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    present = frame[frame["_v"].notna()]
    keys = dims or (lambda _: 0)
    ordered = present.sort_values("_v", ascending=False, kind="stable")
    grouped = ordered.groupby(keys, sort=True)["_v"]
    out = pd.DataFrame(
        {
            "n": grouped.count(),
            "sum": grouped.sum(),
            "mean": grouped.mean(),
            "median": grouped.median(),
            "std": grouped.std(),
            "top1": grouped.max(),
            "negative": grouped.min() < 0,
            "low": grouped.min(),
        }
    )
    second = ordered.groupby(keys, sort=True).nth(1)
    top2 = second.set_index(dims)["_v"] if dims else second["_v"].set_axis([0] * len(second))
    out["top2"] = top2.reindex(out.index).fillna(0.0).to_numpy()
    out["count"] = out["n"].astype("float64")
    if not dims:
        if out.empty:
            out = pd.DataFrame([{"n": 0}])
        return out.reset_index(drop=True)
    return out.reset_index()


def judge_cells(stats: pd.DataFrame, aggfunc: str, rules: CheckRules) -> pd.Series:
    """The reasons each cell may not be published (empty string: it may).

    Examples
    --------
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10, dominance_n=2,
    ...                    dominance_k=90.0, p_percent=10.0)
    >>> s = pd.DataFrame({"n": [3, 12, 12], "sum": [9.0, 100.0, 12.0],
    ...                   "top1": [3.0, 95.0, 1.0], "top2": [3.0, 1.0, 1.0],
    ...                   "negative": [False, False, False]})
    >>> judge_cells(s, "sum", rules).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['threshold: 3 contributors, fewer than 10; min-contributors: 3 contributors, fewer than 10',
     'dominance: the 2 largest contributors make 96.0% of the total (limit 90%); p-percent: the
     second-largest contributor could estimate the largest within 4.2% (limit 10%)', '']
    """
    reasons: list[str] = []
    for row in stats.to_dict("records"):
        reasons.append(
            "; ".join(_cell_reasons({str(k): v for k, v in row.items()}, aggfunc, rules))
        )
    return pd.Series(reasons, index=stats.index, dtype=object)


def _cell_reasons(row: dict[str, Any], aggfunc: str, rules: CheckRules) -> list[str]:
    n = int(row["n"])
    why: list[str] = []
    if n < rules.threshold:
        why.append(f"threshold: {n} contributors, fewer than {rules.threshold}")
    if aggfunc not in _MAGNITUDE:
        return why
    if n < rules.min_contributors:
        why.append(f"min-contributors: {n} contributors, fewer than {rules.min_contributors}")
    low = row.get("low")
    if n and low is not None and not pd.isna(low) and float(low) == float(row.get("top1") or 0):
        why.append("same-values: every contribution in the cell is the same value")
    if bool(row["negative"]):
        why.append("negative: negative values, dominance cannot be assessed")
        return why
    total = float(row.get("sum") or 0.0)
    top1, top2 = float(row.get("top1") or 0.0), float(row.get("top2") or 0.0)
    if n and rules.dominance_n is not None and rules.dominance_k is not None and total > 0:
        top = top1 + (top2 if rules.dominance_n >= 2 else 0.0)
        if rules.dominance_n > 2:
            # only the two largest are kept: (n - 1) x the second is an upper bound of the rest
            top = min(total, top1 + (rules.dominance_n - 1) * top2)
        share = 100.0 * top / total
        if share > rules.dominance_k:
            why.append(
                f"dominance: the {rules.dominance_n} largest contributors make {share:.1f}% of "
                f"the total (limit {rules.dominance_k:g}%)"
            )
    if n and rules.p_percent is not None and top1 > 0:
        margin = 100.0 * (total - top1 - top2) / top1
        if margin < rules.p_percent:
            why.append(
                f"p-percent: the second-largest contributor could estimate the largest within "
                f"{margin:.1f}% (limit {rules.p_percent:g}%)"
            )
    return why


def secondary_for_sums(stats: pd.DataFrame, dims: Sequence[str], reasons: pd.Series) -> pd.Series:
    """Add secondary suppressions so no suppressed sum is its margin less the published cells.

    Along every dim, each line of cells (the other dims fixed) with its ``"All"`` cell is an
    additive relation; a line with exactly one hidden cell gets the smallest other cell hidden
    too, until no line has exactly one.

    Examples
    --------
    >>> s = pd.DataFrame({"g": ["a", "b", "c", "All"], "sum": [5.0, 50.0, 70.0, 125.0]})
    >>> secondary_for_sums(s, ["g"], pd.Series(["threshold", "", "", ""])).tolist()
    ['threshold', 'secondary: hides a suppressed cell from its margin', '', '']
    """
    out = reasons.copy()
    dims = list(dims)
    sums = dict(zip(stats.index, stats["sum"].astype("float64").fillna(0.0), strict=True))
    changed = True
    while changed:
        changed = False
        for d in dims:
            others = [o for o in dims if o != d]
            by: Any = others[0] if len(others) == 1 else others
            groups = stats.groupby(by, sort=False).groups if others else {(): stats.index}
            for idx in groups.values():
                line = list(idx)
                hidden = [i for i in line if out[i]]
                if len(hidden) != 1:
                    continue
                candidates = [i for i in line if not out[i] and stats.at[i, d] != MARGIN]
                if not candidates:
                    candidates = [i for i in line if not out[i]]
                if not candidates:
                    continue
                pick = min(candidates, key=sums.__getitem__)
                out[pick] = "secondary: hides a suppressed cell from its margin"
                changed = True
    return out


def suppression_summary(reasons: pd.Series) -> str:
    """One sentence: how many cells were suppressed, by rule (no values, no cells named).

    Examples
    --------
    >>> suppression_summary(pd.Series(["threshold: 3", "", "secondary: x", "threshold: 4"]))
    '3 of 4 cells suppressed (threshold: 2, secondary: 1)'
    """
    hidden = reasons[reasons.astype(bool)]
    if hidden.empty:
        return f"0 of {len(reasons)} cells suppressed; every cell passed the rules"
    rules: dict[str, int] = {}
    for why in hidden:
        for part in str(why).split("; "):
            rule = part.split(":", 1)[0]
            rules[rule] = rules.get(rule, 0) + 1
    listed = ", ".join(f"{k}: {v}" for k, v in rules.items())
    return f"{len(hidden)} of {len(reasons)} cells suppressed ({listed})"


def to_wide(long: pd.DataFrame, rows: list[str], cols: list[str], value: str) -> pd.DataFrame:
    """``long`` (one row per cell, in order) as pandas' crosstab shape.

    Examples
    --------
    >>> long = pd.DataFrame({"a": ["x", "x"], "b": ["u", "v"], "value": [1.0, 2.0]})
    >>> to_wide(long, ["a"], ["b"], "value").loc["x"].tolist()
    [1.0, 2.0]
    """
    if not cols:
        return long.set_index(rows)[[value]] if rows else long[[value]]
    if not rows:
        out = long.set_index(cols)[value].to_frame().T
        out.index = pd.Index([value])
        return out
    series = long.set_index([*rows, *cols])[value]
    wide = series.unstack(cols, sort=False)
    wide.columns.names = cols
    return wide
