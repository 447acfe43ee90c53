"""The published values of a protected table as numbers, and rates derived from them.

What a chart or a derived rate may use: the export view of a
:class:`~iaptkit.sdc.ProtectedTable` (``published_long()``: numbers as published, ``"*"`` where
suppressed), never the true counts. Anything else (a plain DataFrame of counts) is refused.

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

__all__ = ["SUPPRESSED", "protected_rates", "published_counts"]

#: How a suppressed cell is published.
SUPPRESSED = "*"


def published_counts(pt: Any, *, totals: bool = True) -> pd.DataFrame:
    """The published values of a protected table as numbers (NaN where suppressed).

    Parameters
    ----------
    pt
        A :class:`~iaptkit.sdc.ProtectedTable` (anything with ``dims`` and ``published_long()``).
    totals
        Keep margin cells (any dim equal to ``"Total"``).

    Returns
    -------
    pandas.DataFrame
        The dims, ``display`` (as published: a number or ``"*"``) and ``count`` (float, NaN when
        suppressed).

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": anything derived for display uses the
    published values only.

    Examples
    --------
    >>> class T:
    ...     dims = ("provider",)
    ...     def published_long(self):
    ...         return pd.DataFrame({"provider": ["A", "B", "Total"], "value": ["15", "*", "20"]})
    >>> published_counts(T())["count"].tolist()
    [15.0, nan, 20.0]
    """
    if not callable(getattr(pt, "published_long", None)) or not hasattr(pt, "dims"):
        raise ConfigError(
            "charts are drawn from protected tables only: expected a ProtectedTable (with dims "
            f"and published_long()); found {type(pt).__name__} (protect the counts first)"
        )
    long = pt.published_long()
    dims = list(pt.dims)
    out = long[dims].copy()
    out["display"] = long["value"].astype(str)
    out["count"] = pd.to_numeric(out["display"].where(out["display"] != SUPPRESSED), "coerce")
    out["count"] = out["count"].astype("float64")
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
        ``"*"`` when any count it needs is suppressed or the denominator is zero).

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": a rate is suppressed when its numerator or
    denominator is suppressed. Wilson interval: :func:`iaptkit.measures.statistics.wilson_interval`
    (docs/measures.md §2 rates are per cent).

    Examples
    --------
    >>> class T:
    ...     dims = ("provider", "outcome")
    ...     def published_long(self):
    ...         return pd.DataFrame({
    ...             "provider": ["A", "A", "A", "B", "B", "B"],
    ...             "outcome": ["recovered", "not recovered", "Total"] * 2,
    ...             "value": ["50", "50", "100", "*", "*", "25"]})
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
            group: wide.index.astype(str),
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
    return out.reset_index(drop=True)
