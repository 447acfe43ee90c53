"""The published values of a protected table as numbers, and rates derived from them.

What a chart or a derived rate may use: the analyst view of a
:class:`~iaptkit.sdc.ProtectedTable` (``published()``: numbers as published, ``<NA>`` and status
``suppressed`` where suppressed), never the true counts. Anything else (a plain DataFrame of
counts) is refused.

Notes
-----
docs/disclosure-control.md, "Derived statistics": anything derived for display uses the published
values only, and a rate is suppressed when a count it needs is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.sdc.layout import ordered_groups

__all__ = ["SUPPRESSED", "protected_rates", "published_counts"]

#: How a suppressed cell is published.
SUPPRESSED = "*"


def published_counts(pt: Any, *, totals: bool = True) -> pd.DataFrame:
    """The published values of a protected table as numbers (NaN where suppressed).

    Parameters
    ----------
    pt
        A :class:`~iaptkit.sdc.ProtectedTable` (anything with ``dims`` and ``published()``).
    totals
        Keep margin cells (any dim equal to ``"Total"``).

    Returns
    -------
    pandas.DataFrame
        The dims (as published: ordered categoricals where the labels have an order),
        ``display`` (as published: a number or ``"*"``), ``status`` and ``count`` (float, NaN
        when suppressed).

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": anything derived for display uses the
    published values only.

    Examples
    --------
    >>> class T:
    ...     dims = ("provider",)
    ...     def published(self):
    ...         return pd.DataFrame({"provider": ["A", "B", "Total"],
    ...                              "value": pd.array([15, None, 20], dtype="Int64"),
    ...                              "status": ["rounded", "suppressed", "rounded"]})
    >>> published_counts(T())["count"].tolist()
    [15.0, nan, 20.0]
    """
    if not callable(getattr(pt, "published", None)) or not hasattr(pt, "dims"):
        raise ConfigError(
            "charts are drawn from protected tables only: expected a ProtectedTable (with dims "
            f"and published()); found {type(pt).__name__} (protect the counts first)"
        )
    pub = pt.published()
    dims = list(pt.dims)
    out = pub[dims].copy()
    hidden = (pub["status"].astype(str) == "suppressed").to_numpy()
    value = pd.to_numeric(pub["value"], errors="coerce").astype("Float64")
    out["count"] = value.to_numpy(dtype="float64", na_value=np.nan)
    out.loc[hidden, "count"] = np.nan
    out["status"] = pub["status"].astype(str).to_numpy()
    out["display"] = [
        SUPPRESSED if h else ("" if np.isnan(c) else f"{c:.0f}")
        for h, c in zip(hidden, out["count"], strict=True)
    ]
    if not totals and dims:
        is_total = (out[dims].astype(str) == "Total").any(axis=1)
        out = out.loc[~is_total]
    result: pd.DataFrame = out.reset_index(drop=True)
    return result


def protected_rates(
    pt: Any,
    *,
    group: str,
    category: str,
    numerator: str | Sequence[str],
    denominator: str | Sequence[str] = "Total",
    per: float = 100.0,
    decimals: int = 1,
) -> pd.DataFrame:
    """Rates per group from a protected two-way table (group x category), published values only.

    Parameters
    ----------
    pt
        Protected table with dims including ``group`` and ``category`` (margins present when the
        denominator is ``"Total"``).
    group, category
        The grouping dim (e.g. ``provider``) and the category dim (e.g. ``outcome``).
    numerator, denominator
        Category value(s) summed for the numerator / denominator.
    per
        100 for per cent.
    decimals
        Decimals of the displayed rate.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``numerator``, ``denominator`` (published counts), ``rate``, ``ci_lower``,
        ``ci_upper`` (95 % Wilson, from the published counts) and ``display`` (the rate as text,
        ``"*"`` when any count it needs is suppressed or the denominator is zero) and
        ``rate_from`` (``"published counts"``: a chart's rate is made from the published, possibly
        rounded, counts, so it can differ from the rate a policy publishes from unrounded counts).
        The group column is an ordered categorical when its labels have an order.

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": a rate is suppressed when its numerator or
    denominator is suppressed. Wilson interval: :func:`iaptkit.measures.statistics.wilson_interval`
    (docs/measures.md §2 rates are per cent).

    Examples
    --------
    >>> class T:
    ...     dims = ("provider", "outcome")
    ...     def published(self):
    ...         return pd.DataFrame({
    ...             "provider": ["A", "A", "A", "B", "B", "B"],
    ...             "outcome": ["recovered", "not recovered", "Total"] * 2,
    ...             "value": pd.array([50, 50, 100, None, None, 25], dtype="Int64"),
    ...             "status": ["published"] * 3 + ["suppressed"] * 2 + ["published"]})
    >>> r = protected_rates(T(), group="provider", category="outcome", numerator="recovered")
    >>> r[["provider", "display"]].values.tolist()
    [['A', '50.0'], ['B', '*']]
    """
    from iaptkit.measures.statistics import wilson_interval

    nums = [numerator] if isinstance(numerator, str) else list(numerator)
    dens = [denominator] if isinstance(denominator, str) else list(denominator)
    counts = published_counts(pt)
    others = [d for d in pt.dims if d not in (group, category)]
    if others:  # take the margin of any other dim
        counts = counts.loc[(counts[others].astype(str) == "Total").all(axis=1)]
    counts = counts.astype({group: str, category: str})
    wide = counts.pivot_table(
        index=group, columns=category, values="count", aggfunc="first", dropna=False, sort=False
    )

    def total(cols: list[str]) -> pd.Series:
        present = [c for c in cols if c in wide.columns]
        if len(present) != len(cols):
            return pd.Series(np.nan, index=wide.index)
        return wide[present].sum(axis=1, min_count=len(present))

    num = total(nums)
    den = total(dens)
    ok = num.notna() & den.notna() & (den > 0)
    lower, upper = wilson_interval(
        num.where(ok, 0).to_numpy(), den.where(ok, 1).to_numpy(), per=per
    )
    out = pd.DataFrame(
        {
            group: ordered_groups(pd.Series(wide.index.astype(str))).array,
            "numerator": num.to_numpy(),
            "denominator": den.to_numpy(),
            "rate": np.where(ok, per * num / den.where(ok, 1), np.nan),
            "ci_lower": np.where(ok, lower, np.nan),
            "ci_upper": np.where(ok, upper, np.nan),
        }
    )
    out["display"] = [
        f"{r:.{decimals}f}" if ok_ else SUPPRESSED for r, ok_ in zip(out["rate"], ok, strict=True)
    ]
    out["rate_from"] = "published counts"
    return out.reset_index(drop=True)
