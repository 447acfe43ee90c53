"""The catalogue families as long-table rows: counts, rates, means, medians (docs/measures.md §5).

Rates are per cent from unrounded counts with 95 % Wilson bounds, missing when the denominator
is 0; means and medians are missing for an empty cohort, and the median of an even count is the
mean of the two middle values (docs/measures.md §5.2). Maxima and minima are of kind
``internal``: an individual's value, for inside use only (never released by ``iaptkit protect``).
"""

from __future__ import annotations

import re
from datetime import date

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


def _stat(m: FamilyMeasure, row: pd.Series, hist: pd.DataFrame) -> float:
    assert m.value is not None
    assert m.denominator is not None
    if m.kind == "mean":
        if m.value == "between_treatments":
            den = float(row["sum_between_treatments_n"])
        else:
            # the values present (a negative wait is a data error, not a value)
            den = float(row.get(f"n_{m.value}", row[m.denominator]))
        return float(row[f"sum_{m.value}"]) / den if den > 0 else float("nan")
    h = hist[hist["stat"] == m.value]
    if h.empty:
        return float("nan")
    values, weights = h["value"].to_numpy(), h["pathways"].to_numpy()
    if m.kind == "median":
        return weighted_median(values, weights)
    return float(values.max() if m.name.startswith("max_") else values.min())


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
    >>> from iaptkit.measures.families.cohorts import COUNT_NAMES
    >>> totals = pd.DataFrame({"breakdown": ["england"], "group": ["England"],
    ...     **{c: [0] for c in COUNT_NAMES}, "entered_treatment": [4],
    ...     "entered_waited_6_weeks": [3], "sum_wait_entered": [100]})
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
    hist = counts.histograms
    by_cell = {k: g for k, g in hist.groupby(["breakdown", "group"], sort=False)}
    empty = hist.iloc[0:0]
    rows: list[dict[str, object]] = []
    for _, row in totals.iterrows():
        cell_hist = by_cell.get((row["breakdown"], row["group"]), empty)
        for m in specs:
            lo = hi = float("nan")
            if m.kind == "count":
                value = float(row[m.name])
            elif m.kind == "rate":
                num = np.array([float(row[str(m.numerator)])])
                den = np.array([float(row[str(m.denominator)])])
                value = float(rate(num, den)[0])
                los, his = wilson_interval(num, den)
                lo, hi = float(los[0]), float(his[0])
            else:
                value = _stat(m, row, cell_hist)
            rows.append(
                {
                    "breakdown": row["breakdown"],
                    "group": row["group"],
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
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out.insert(0, "period_start", start)
    out.insert(1, "period_end", end)
    out["definitions_version"] = version
    return out
