"""The long table of published measures: values, rates with Wilson bounds, and means.

From the counts of :mod:`iaptkit.measures.counting` (a few hundred rows, in pandas), computes
the rates (per cent, Wilson 95 % bounds, :mod:`iaptkit.measures.statistics`) and means of
docs/measures.md §2 and lays everything out as the long table of
docs/module-contracts.md ("Published measures"), one row per breakdown, group and measure.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from iaptkit.measures.catalogue import COUNT_MEASURES, LONG_COLUMNS, MEASURES, breakdown_name
from iaptkit.measures.counting import SESSIONS
from iaptkit.measures.statistics import rate, wilson_interval

__all__ = ["long_table"]


def _natural_key(text: str) -> tuple[tuple[int, float | str], ...]:
    return tuple(
        (0, float(tok)) if tok.isdigit() else (1, tok.lower())
        for tok in re.findall(r"\d+|\D+", text)
    )


def long_table(
    counts: pd.DataFrame,
    breakdowns: tuple[tuple[str, ...], ...],
    start: date,
    end: date,
    version: str,
) -> pd.DataFrame:
    """Lay out counts as the long table of published measures (docs/module-contracts.md).

    Parameters
    ----------
    counts
        From :func:`~iaptkit.measures.counting.pathway_counts` (or
        :func:`~iaptkit.measures.counting.added_counts`): one row per breakdown and group.
    breakdowns
        The requested breakdowns, in the order of the output.
    start, end
        The period, written into every row.
    version
        The ``definitions_version`` written into every row.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~iaptkit.measures.catalogue.LONG_COLUMNS`, ordered by breakdown (as
        requested), group (natural order: ``R2`` before ``R10``) and measure (publication
        order). Rates are per cent with 95 % Wilson bounds; a zero denominator gives a missing
        rate and bounds (docs/measures.md §2). An ``england`` breakdown without pathways is one
        group ``England`` of zeros.

    Examples
    --------
    >>> counts = pd.DataFrame({"breakdown": ["england"], "group": ["England"],
    ...     **{c: [0] for c in (*COUNT_MEASURES, SESSIONS, "pathways")}})
    >>> counts[["finished_treatment", "not_at_caseness", "at_caseness", "recovered"]] = [
    ...     [10, 2, 8, 4]]
    >>> counts[SESSIONS] = 65
    >>> t = long_table(counts, (("england",),), date(2024, 1, 1), date(2024, 1, 31), "v1")
    >>> t.set_index("measure").loc[["recovered", "recovery_rate", "mean_sessions_finished",
    ...     "entered_treatment"], ["value", "ci_lower", "ci_upper"]].round(2).values.tolist()
    [[4.0, nan, nan], [50.0, 21.52, 78.48], [6.5, nan, nan], [0.0, nan, nan]]
    """
    order = {breakdown_name(bd): i for i, bd in enumerate(breakdowns)}
    counts = counts.copy()
    if "England" not in set(counts.loc[counts["breakdown"] == "england", "group"]) and (
        ("england",) in breakdowns
    ):
        zero = {c: 0 for c in (*COUNT_MEASURES, SESSIONS, "pathways")}
        counts = pd.concat(
            [counts, pd.DataFrame([{**zero, "breakdown": "england", "group": "England"}])],
            ignore_index=True,
        )
    counts["_b"] = counts["breakdown"].map(order)
    counts["_g"] = counts["group"].map(_natural_key)
    counts = counts.sort_values(["_b", "_g"], kind="stable").reset_index(drop=True)
    for c in (*COUNT_MEASURES, SESSIONS):
        counts[c] = pd.to_numeric(counts[c]).fillna(0).astype("int64")
    blocks: list[pd.DataFrame] = []
    n = len(counts)
    for spec in MEASURES:
        ci_lo = ci_hi = np.full(n, np.nan)
        if spec.kind == "count":
            value = counts[spec.name].to_numpy(dtype=np.float64)
        elif spec.kind == "rate":
            assert spec.numerator is not None
            assert spec.denominator is not None
            num = counts[spec.numerator].to_numpy(dtype=np.float64)
            den = counts[spec.denominator].to_numpy(dtype=np.float64)
            value = rate(num, den)
            ci_lo, ci_hi = wilson_interval(num, den)
        else:
            assert spec.denominator is not None
            value = rate(counts[SESSIONS], counts[spec.denominator], per=1.0)
        blocks.append(
            pd.DataFrame(
                {
                    "_b": counts["_b"].to_numpy(),
                    "_row": np.arange(n),
                    "breakdown": counts["breakdown"].to_numpy(),
                    "group": counts["group"].to_numpy(),
                    "measure": spec.name,
                    "value": value,
                    "kind": spec.kind,
                    "numerator": spec.numerator if spec.numerator else None,
                    "denominator": spec.denominator if spec.denominator else None,
                    "ci_lower": ci_lo,
                    "ci_upper": ci_hi,
                }
            )
        )
    out = pd.concat(blocks, ignore_index=True)
    rank = {spec.name: i for i, spec in enumerate(MEASURES)}
    out["_m"] = out["measure"].map(rank)
    out = out.sort_values(["_row", "_m"], kind="stable").reset_index(drop=True)
    out.insert(0, "period_start", start)
    out.insert(1, "period_end", end)
    out["definitions_version"] = version
    out = out.drop(columns=["_b", "_row", "_m"])
    return out.loc[:, list(LONG_COLUMNS)]
