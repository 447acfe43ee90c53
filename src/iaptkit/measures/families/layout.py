"""The catalogue families as long-table rows: counts, rates, means, medians (docs/measures.md §5).

Rates are per cent from unrounded counts with 95 % Wilson bounds, missing when the denominator
is 0; means and medians are missing for an empty cohort, and the median of an even count is the
mean of the two middle values (docs/measures.md §5.2). Maxima and minima are of kind
``internal``: an individual's value, for inside use only (never released by ``iaptkit protect``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.measures.families.counts import FamilyCounts
from iaptkit.measures.families.specs import FAMILY_MEASURES, FamilyMeasure
from iaptkit.measures.statistics import rate, wilson_interval

__all__ = ["family_rows", "weighted_median"]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of ``values`` each repeated ``weights`` times (NaN when empty).

    Examples
    --------
    >>> weighted_median(np.array([10, 20, 30]), np.array([1, 1, 2]))
    25.0
    >>> weighted_median(np.array([5]), np.array([3]))
    5.0
    """
    n = int(weights.sum())
    if n == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(weights[order])
    lo = v[np.searchsorted(cum, (n + 1) // 2)]
    hi = v[np.searchsorted(cum, n // 2 + 1)]
    return (float(lo) + float(hi)) / 2.0


def _natural_key(text: str) -> tuple[tuple[int, float | str], ...]:
    """Groups in natural order (``R2`` before ``R10``), the same for every split."""
    return tuple(
        (0, float(tok)) if tok.isdigit() else (1, tok.lower())
        for tok in re.findall(r"\d+|\D+", str(text))
    )


def _statistics(hist: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """(breakdown, group, stat) -> (median, max, min) from the histograms."""
    out: dict[tuple[str, str, str], tuple[float, float, float]] = {}
    for key, h in hist.groupby(["breakdown", "group", "stat"], sort=False):
        values, weights = h["value"].to_numpy(), h["pathways"].to_numpy()
        present = weights > 0
        if not present.any():
            continue
        v = values[present]
        out[(str(key[0]), str(key[1]), str(key[2]))] = (
            weighted_median(values, weights),
            float(v.max()),
            float(v.min()),
        )
    return out


def _values(m: FamilyMeasure, totals: pd.DataFrame, stats: dict[Any, Any]) -> np.ndarray:
    """The value of a mean, median or internal statistic for every row of ``totals``."""
    assert m.value is not None
    assert m.denominator is not None
    if m.kind == "mean":
        if m.value == "between_treatments":
            den = totals["sum_between_treatments_n"]
        elif f"n_{m.value}" in totals.columns:
            # the values present (a negative wait is a data error, not a value)
            den = totals[f"n_{m.value}"]
        else:
            den = totals[m.denominator]
        return rate(totals[f"sum_{m.value}"], den, per=1.0)
    pick = 0 if m.kind == "median" else (1 if m.name.startswith("max_") else 2)
    nan = (float("nan"),) * 3
    keys = zip(totals["breakdown"], totals["group"], strict=True)
    return np.array([stats.get((b, g, m.value), nan)[pick] for b, g in keys], dtype=np.float64)


def family_rows(
    counts: FamilyCounts,
    families: tuple[int, ...],
    start: date,
    end: date,
    version: str,
    skip: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Long-table rows of the families' measures (``skip``: names already in the table).

    Examples
    --------
    >>> from iaptkit.measures.families.cohorts import COUNT_NAMES, STAT_VALUES
    >>> totals = pd.DataFrame({"breakdown": ["england"], "group": ["England"],
    ...     **{c: [0] for c in COUNT_NAMES}, **{f"sum_{v}": [0] for v in STAT_VALUES},
    ...     "sum_between_treatments_n": [0]})
    >>> totals[["entered_treatment", "entered_waited_6_weeks", "sum_wait_entered"]] = [[4, 3, 100]]
    >>> hist = pd.DataFrame({"breakdown": ["england"] * 2, "group": ["England"] * 2,
    ...     "stat": ["wait_entered"] * 2, "value": [10, 40], "pathways": [2, 2]})
    >>> t = family_rows(FamilyCounts(totals, hist), (1,), date(2024, 1, 1), date(2024, 1, 31), "v")
    >>> t.set_index("measure").loc[["entered_waited_6_weeks_rate", "mean_wait_entered",
    ...     "median_wait_entered"], "value"].tolist()
    [75.0, 25.0, 25.0]
    """
    specs = [m for m in FAMILY_MEASURES if m.family in families and m.name not in skip]
    totals = counts.totals.assign(_g=counts.totals["group"].map(_natural_key))
    totals = totals.sort_values(["breakdown", "_g"], kind="stable").reset_index(drop=True)
    stats = _statistics(counts.histograms)
    n = len(totals)
    blocks: list[pd.DataFrame] = []
    for k, m in enumerate(specs):
        lo = hi = np.full(n, np.nan)
        if m.kind == "count":
            value = totals[m.name].to_numpy(dtype=np.float64)
        elif m.kind == "rate":
            num = totals[str(m.numerator)].to_numpy(dtype=np.float64)
            den = totals[str(m.denominator)].to_numpy(dtype=np.float64)
            value = rate(num, den)
            lo, hi = wilson_interval(num, den)
        else:
            value = _values(m, totals, stats)
        blocks.append(
            pd.DataFrame(
                {
                    "_row": np.arange(n),
                    "_m": k,
                    "breakdown": totals["breakdown"].to_numpy(),
                    "group": totals["group"].to_numpy(),
                    "measure": m.name,
                    "value": value,
                    "kind": m.kind,
                    "numerator": m.numerator,
                    "denominator": m.denominator,
                    "ci_lower": lo,
                    "ci_upper": hi,
                    "family": m.family,
                }
            )
        )
    if not blocks:
        return pd.DataFrame()
    out = pd.concat(blocks, ignore_index=True)
    out = out.sort_values(["_row", "_m"], kind="stable").drop(columns=["_row", "_m"])
    out = out.reset_index(drop=True)
    if out.empty:
        return out
    out.insert(0, "period_start", start)
    out.insert(1, "period_end", end)
    out["definitions_version"] = version
    return out
