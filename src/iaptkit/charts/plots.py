"""Charts drawn from protected tables only, and rates derived from published counts.

Every function here reads a :class:`~iaptkit.sdc.ProtectedTable` through its export view
(``published_long()``: numbers as published, ``"*"`` where suppressed), never the true counts, so
a chart shows exactly what its registered table shows: suppressed bars are left out and marked
``*``. Figures are :class:`matplotlib.figure.Figure` objects (no pyplot global state); Jupyter
displays them, and :meth:`~matplotlib.figure.Figure.savefig` writes the PNG that is registered
beside its table (``Release.add_figure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "bar_chart",
    "funnel_plot",
    "line_chart",
    "protected_rates",
    "published_counts",
]

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
    disclosure-control.md, "Derived statistics": anything derived for display uses the
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
    disclosure-control.md, "Derived statistics": a rate is suppressed when its numerator or
    denominator is suppressed. Wilson interval: :func:`iaptkit.measures.statistics.wilson_interval`
    (measures.md §2 rates are per cent).

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


def _new_figure(width: float = 8.0, height: float = 4.5) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def bar_chart(
    pt: Any,
    x: str,
    hue: str | None = None,
    *,
    title: str = "",
    ylabel: str = "count",
    order: Sequence[str] | None = None,
) -> Figure:
    """Bars of the published counts of a protected table (margins left out).

    Suppressed cells are drawn as empty slots labelled ``*``.

    Notes
    -----
    disclosure-control.md: a chart is released only with its underlying protected table, and each
    bar obeys the count rules (it is a published cell).

    Examples
    --------
    >>> class T:
    ...     dims = ("provider",)
    ...     def published_long(self):
    ...         return pd.DataFrame({"provider": ["A", "B", "Total"], "value": ["15", "*", "20"]})
    >>> fig = bar_chart(T(), "provider", title="Referrals")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['*']
    """
    data = published_counts(pt, totals=False)
    others = [d for d in pt.dims if d not in (x, hue)]
    if others:
        raise ValueError(f"bar_chart: table has extra dims {others}; expected only {x!r}, {hue!r}")
    xs = list(order) if order is not None else list(dict.fromkeys(data[x].astype(str)))
    hues = list(dict.fromkeys(data[hue].astype(str))) if hue else [""]
    fig, ax = _new_figure()
    width = 0.8 / len(hues)
    for j, h in enumerate(hues):
        sub = data if not hue else data.loc[data[hue].astype(str) == h]
        by_x = dict(zip(sub[x].astype(str), sub["count"], strict=True))
        pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
        heights = [by_x.get(v, np.nan) for v in xs]
        ax.bar(pos, np.nan_to_num(heights), width=width, label=h or None)
        for p, v, name in zip(pos, heights, xs, strict=True):
            if np.isnan(v) and name in by_x:
                ax.text(p, 0, SUPPRESSED, ha="center", va="bottom", fontsize=12, color="crimson")
    rotate = len(xs) > 4
    ax.set_xticks(
        np.arange(len(xs)), xs, rotation=30 if rotate else 0, ha="right" if rotate else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if hue:
        ax.legend(title=hue, fontsize="small")
    return fig


def line_chart(
    pt: Any, x: str, hue: str | None = None, *, title: str = "", ylabel: str = "count"
) -> Figure:
    """Lines of published counts over ``x`` (e.g. month), one per ``hue``; gaps where suppressed.

    Notes
    -----
    disclosure-control.md: charts from protected tables only.

    Examples
    --------
    >>> class T:
    ...     dims = ("month",)
    ...     def published_long(self):
    ...         return pd.DataFrame({"month": ["2023-04", "2023-05"], "value": ["15", "20"]})
    >>> line_chart(T(), "month").axes[0].lines[0].get_ydata().tolist()
    [15.0, 20.0]
    """
    data = published_counts(pt, totals=False)
    fig, ax = _new_figure()
    xs = sorted(dict.fromkeys(data[x].astype(str)))
    for h, sub in data.groupby(hue, sort=True) if hue else [("", data)]:
        by_x = dict(zip(sub[x].astype(str), sub["count"], strict=True))
        ax.plot(xs, [by_x.get(v, np.nan) for v in xs], marker="o", label=str(h) or None)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45)
    if hue:
        ax.legend(title=hue, fontsize="small")
    return fig


def funnel_plot(
    rates: pd.DataFrame,
    *,
    label: str,
    target: float,
    title: str = "",
    ylabel: str = "rate (%)",
) -> Figure:
    """Funnel plot of rates (from :func:`protected_rates`) against their denominators.

    Parameters
    ----------
    rates
        Columns ``label``, ``rate`` (per cent), ``denominator``; suppressed rows (NaN) are left
        out.
    label
        Column naming each unit (e.g. ``provider``).
    target
        The target rate in per cent (e.g. the England rate).

    Notes
    -----
    Control limits at 95 % and 99.8 % from :func:`iaptkit.measures.statistics.funnel_limits`
    (Spiegelhalter, "Funnel plots for comparing institutional performance", 2005).

    Examples
    --------
    >>> r = pd.DataFrame({"provider": ["A", "B"], "rate": [50.0, 40.0],
    ...                   "denominator": [200.0, 150.0]})
    >>> fig = funnel_plot(r, label="provider", target=48.0)
    >>> len(fig.axes[0].collections) >= 1
    True
    """
    from iaptkit.measures.statistics import funnel_limits

    shown = rates.dropna(subset=["rate", "denominator"])
    fig, ax = _new_figure()
    top = float(shown["denominator"].max()) if len(shown) else 100.0
    # whole denominators: the exact binomial limits are defined for counts only
    n = np.unique(np.round(np.linspace(max(1.0, top / 200), top * 1.1, 200)))
    for level, style in ((0.95, "--"), (0.998, ":")):
        lo, hi = funnel_limits(n, target / 100.0, level=level)
        ax.plot(n, lo, style, color="grey", label=f"{level:.1%} limits")
        ax.plot(n, hi, style, color="grey")
    ax.axhline(target, color="black", linewidth=1, label=f"target {target:.1f}%")
    ax.scatter(shown["denominator"], shown["rate"], zorder=3)
    for _, row in shown.iterrows():
        ax.annotate(str(row[label]), (row["denominator"], row["rate"]), fontsize=8)
    ax.set_xlabel("denominator")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig
