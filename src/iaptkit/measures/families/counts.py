"""Counting the catalogue cohorts by breakdown, in a form that adds up over parts.

:func:`family_counts` gives, per (breakdown, group), the total of every count measure and the
sum of every statistic value; and, per (breakdown, group, statistic, value), how many pathways
have that value (a histogram of whole days or sessions). Both add up over disjoint parts of the
pathways (:func:`added_family_counts`), and medians, maxima and minima come exactly from the
histograms (:mod:`~iaptkit.measures.families.layout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.definitions.labels import GROUP_SEPARATOR
from iaptkit.measures.catalogue import breakdown_name
from iaptkit.measures.families.cohorts import COUNT_NAMES, STAT_VALUES

__all__ = ["FamilyCounts", "added_family_counts", "family_counts"]

_STATS = (*STAT_VALUES, "between_treatments_n")
#: the added-up columns of the totals beside the counts: sums and numbers of values
_SUMS = (*(f"sum_{s}" for s in _STATS), *(f"n_{s}" for s in STAT_VALUES))


@dataclass(frozen=True)
class FamilyCounts:
    """``totals``: breakdown, group, every count, ``sum_<value>`` and ``n_<value>`` (values
    present); ``histograms``:
    breakdown, group, stat, value, pathways."""

    totals: pd.DataFrame
    histograms: pd.DataFrame


def _group(ind: ir.Table, bd: tuple[str, ...]) -> ir.StringValue:
    keys = [ind[f"g_{p}"] for p in bd]
    group = keys[0]
    for k in keys[1:]:
        group = group.concat(GROUP_SEPARATOR, k)
    return group


def family_counts(cohorts: ir.Table, breakdowns: tuple[tuple[str, ...], ...]) -> FamilyCounts:
    """Totals and histograms of a cohort table (engine passes over cached tables).

    Examples
    --------
    >>> t = ibis.memtable({"PathwayID": ["a", "b"], "g_england": ["England"] * 2,
    ...     **{c: [1, 0] for c in COUNT_NAMES}, **{f"v_{s}": [3, None] for s in _STATS}})
    >>> fc = family_counts(t, (("england",),))
    >>> int(fc.totals["entered_treatment"].iloc[0]), fc.histograms["value"].unique().tolist()
    (1, [3])
    """
    cached = cohorts.cache()
    long = None
    try:
        totals = []
        for bd in breakdowns:
            group = _group(cached, bd)
            aggs: dict[str, Any] = {c: cached[c].sum() for c in COUNT_NAMES}
            aggs.update({f"sum_{s}": cached[f"v_{s}"].sum() for s in _STATS})
            aggs.update({f"n_{s}": cached[f"v_{s}"].count() for s in STAT_VALUES})
            totals.append(
                cached.group_by(group=group)
                .aggregate(**aggs)
                .mutate(breakdown=ibis.literal(breakdown_name(bd)))
            )
        total = ibis.union(*totals, distinct=False).execute()
        # the statistic values in long form (one row per pathway and statistic with a value),
        # cached once: one GROUP BY per breakdown then counts every statistic's histogram (a
        # query per breakdown and statistic would be compiled and run hundreds of times)
        keys = sorted({f"g_{p}" for bd in breakdowns for p in bd})
        values = []
        for s in STAT_VALUES:
            f = cached.filter(cached[f"v_{s}"].notnull())
            values.append(f.select(*keys, stat=ibis.literal(s), value=f[f"v_{s}"].cast("int64")))
        long = ibis.union(*values, distinct=False).cache()
        hists = []
        for bd in breakdowns:
            h = (
                long.group_by(group=_group(long, bd), stat=long.stat, value=long.value)
                .aggregate(pathways=long.count())
                .mutate(breakdown=ibis.literal(breakdown_name(bd)))
            )
            hists.append(h.select("breakdown", "group", "stat", "value", "pathways"))
        hist = ibis.union(*hists, distinct=False).execute()
    finally:
        if long is not None:
            long.release()
        cached.release()
    for c in (*COUNT_NAMES, *_SUMS):
        total[c] = pd.to_numeric(total[c]).fillna(0).astype("int64")
    total = total.copy()  # one block again after the column-by-column conversion
    hist["value"] = pd.to_numeric(hist["value"]).astype("int64")
    hist["pathways"] = pd.to_numeric(hist["pathways"]).astype("int64")
    return FamilyCounts(total, hist)


def added_family_counts(parts: list[FamilyCounts]) -> FamilyCounts:
    """The counts of disjoint parts of the pathways, added up.

    Examples
    --------
    >>> one = FamilyCounts(pd.DataFrame({"breakdown": ["england"], "group": ["England"],
    ...     **{c: [1] for c in COUNT_NAMES}, **{s: [2] for s in _SUMS}}),
    ...     pd.DataFrame({"breakdown": ["england"], "group": ["England"], "stat": ["gap"],
    ...     "value": [4], "pathways": [1]}))
    >>> two = added_family_counts([one, one])
    >>> int(two.totals["appointments"].iloc[0]), int(two.histograms["pathways"].iloc[0])
    (2, 2)
    """
    if len(parts) == 1:
        return parts[0]
    values = [*COUNT_NAMES, *_SUMS]
    totals = (
        pd.concat([p.totals for p in parts], ignore_index=True)
        .groupby(["breakdown", "group"], sort=False, as_index=False)[values]
        .sum()
    )
    hist = (
        pd.concat([p.histograms for p in parts], ignore_index=True)
        .groupby(["breakdown", "group", "stat", "value"], sort=False, as_index=False)[["pathways"]]
        .sum()
    )
    return FamilyCounts(totals, hist)
