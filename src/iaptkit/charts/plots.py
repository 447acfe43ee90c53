"""Charts drawn from protected tables only: bar, line (trend), funnel and gap plots.

Every function here reads a :class:`~iaptkit.sdc.ProtectedTable` through its analyst view
(``published()``: numbers as published, ``<NA>`` where suppressed), never the true counts, so
a chart shows exactly what its registered table shows: suppressed bars are left out and marked
``*`` (:mod:`iaptkit.charts.published`). Anything else is refused. The statistical charts are drawn
with seaborn (bar charts, funnel plots) in the colours of :mod:`iaptkit.charts.palette`, under a
seaborn style applied only while the figure is made (no global style change). Figures are
:class:`~iaptkit.charts.figure.ChartFigure` objects (no pyplot global state) that show as
PNG in Jupyter, and :meth:`~matplotlib.figure.Figure.savefig` writes the PNG that is
registered beside its table (``Release.add_figure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns

from iaptkit.charts import palette
from iaptkit.charts.figure import ChartFigure
from iaptkit.charts.published import published_counts

__all__ = ["bar_chart", "funnel_plot", "gap_chart", "line_chart"]


def _new_figure(width: float = 8.0, height: float = 4.5) -> tuple[ChartFigure, Any]:
    """A figure and its axes in the house style (seaborn's ``whitegrid``, set for this figure)."""
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig = ChartFigure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _in_label_order(data: pd.DataFrame, dims: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by the dims that are ordered categoricals (IMD decile 1..10, age bands)."""
    keys = [d for d in dims if isinstance(data[d].dtype, pd.CategoricalDtype)]
    return data.sort_values(keys, kind="stable") if keys else data


def _rotate_labels(ax: Any, many: bool) -> None:
    for label in ax.get_xticklabels():
        label.set_rotation(30 if many else 0)
        label.set_horizontalalignment("right" if many else "center")


def bar_chart(
    pt: Any,
    x: str,
    hue: str | None = None,
    *,
    title: str = "",
    ylabel: str = "count",
    order: Sequence[str] | None = None,
) -> ChartFigure:
    """Bars of the published counts of a protected table (margins left out), drawn by seaborn.

    Suppressed cells are drawn as empty slots labelled ``*``.

    Parameters
    ----------
    pt
        A protected table whose dims are ``x`` (and ``hue``) only.
    x
        The dim along the horizontal axis.
    hue
        A second dim: one bar per value, side by side, in the colours of
        :func:`iaptkit.charts.palette.series_colours`.
    title, ylabel
        Labels.
    order
        The ``x`` values in order (default: as published).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    docs/disclosure-control.md: a chart is released only with its underlying protected table, and
    each bar obeys the count rules (it is a published cell).

    Examples
    --------
    >>> class T:
    ...     dims = ("provider",)
    ...     def published(self):
    ...         return pd.DataFrame({"provider": ["A", "B", "Total"],
    ...                              "value": pd.array([15, None, 20], dtype="Int64"),
    ...                              "status": ["published", "suppressed", "published"]})
    >>> fig = bar_chart(T(), "provider", title="Referrals")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['*']
    """
    data = published_counts(pt, totals=False)
    others = [d for d in pt.dims if d not in (x, hue)]
    if others:
        raise ValueError(f"bar_chart: table has extra dims {others}; expected only {x!r}, {hue!r}")
    data = _in_label_order(data, [d for d in (x, hue) if d])
    xs = list(order) if order is not None else list(dict.fromkeys(data[x].astype(str)))
    hues = list(dict.fromkeys(data[hue].astype(str))) if hue else [""]
    # One row per bar slot: missing cells are empty slots, suppressed ones are marked below.
    published: dict[tuple[str, str], float] = {
        (str(row[x]), str(row[hue]) if hue else ""): float(row["count"])
        for _, row in data.iterrows()
    }
    slots = pd.DataFrame(
        [(v, h, published.get((v, h), np.nan)) for h in hues for v in xs],
        columns=["x", "hue", "count"],
    )
    slots["height"] = slots["count"].fillna(0.0)
    fig, ax = _new_figure()
    sns.barplot(
        slots,
        x="x",
        y="height",
        hue="hue",
        order=xs,
        hue_order=hues,
        palette=list(palette.series_colours(len(hues))) if hue else [palette.PUBLISHED],
        saturation=1.0,  # the palette's colours exactly (seaborn desaturates by default)
        errorbar=None,
        legend=False,
        dodge=bool(hue),
        ax=ax,
    )
    for container, h in zip(ax.containers, hues, strict=True):
        container.set_label(h or "_nolegend_")
        for bar, v in zip(container.patches, xs, strict=True):
            if (v, h) in published and np.isnan(published[(v, h)]):
                centre = bar.get_x() + bar.get_width() / 2
                ax.text(
                    centre, 0, "*", ha="center", va="bottom", fontsize=12, color=palette.SUPPRESSED
                )
    _rotate_labels(ax, len(xs) > 4)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if hue:
        ax.legend(handles=list(ax.containers), labels=hues, title=hue, fontsize="small")
    return fig


def line_chart(
    pt: Any, x: str, hue: str | None = None, *, title: str = "", ylabel: str = "count"
) -> ChartFigure:
    """Lines of published counts over ``x`` (e.g. month), one per ``hue``; gaps where suppressed.

    Parameters
    ----------
    pt
        A protected table with dims ``x`` (and ``hue``).
    x
        The dim along the horizontal axis (sorted as text: ``YYYY-MM`` months sort in time).
    hue
        A second dim: one line per value.
    title, ylabel
        Labels.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    docs/disclosure-control.md: charts from protected tables only. The lines are drawn with
    matplotlib on a seaborn-styled axes, not with ``seaborn.lineplot``: seaborn drops missing
    values and would join a line across a suppressed month, suggesting a value where the table
    publishes ``*``; here the line breaks there.

    Examples
    --------
    >>> class T:
    ...     dims = ("month",)
    ...     def published(self):
    ...         return pd.DataFrame({"month": ["2023-04", "2023-05"],
    ...                              "value": pd.array([15, 20], dtype="Int64"),
    ...                              "status": ["published", "published"]})
    >>> line_chart(T(), "month").axes[0].lines[0].get_ydata().tolist()
    [15.0, 20.0]
    """
    data = published_counts(pt, totals=False)
    fig, ax = _new_figure()
    data = _in_label_order(data, [x])
    ordered = isinstance(data[x].dtype, pd.CategoricalDtype)
    labels = list(dict.fromkeys(data[x].astype(str)))
    xs = labels if ordered else sorted(labels)
    groups = list(data.groupby(hue, sort=True, observed=True)) if hue else [("", data)]
    for (h, sub), colour in zip(groups, palette.series_colours(len(groups)), strict=True):
        by_x = dict(zip(sub[x].astype(str), sub["count"], strict=True))
        ax.plot(
            xs,
            [by_x.get(v, np.nan) for v in xs],
            marker="o",
            color=colour,
            label=str(h) or None,
        )
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _rotate_labels(ax, True)
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
) -> ChartFigure:
    """Funnel plot of rates (from :func:`protected_rates`) against their denominators (seaborn).

    Parameters
    ----------
    rates
        Columns ``label``, ``rate`` (per cent), ``denominator``; suppressed rows (NaN) are left
        out.
    label
        Column naming each unit (e.g. ``provider``).
    target
        The target rate in per cent (e.g. the England rate).
    title, ylabel
        Labels.

    Returns
    -------
    matplotlib.figure.Figure
        Lines in order: lower and upper 95 % limits, lower and upper 99.8 % limits, the target;
        one point per unit shown.

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
    for level, style, colour in ((0.95, "--", palette.LIMIT_95), (0.998, ":", palette.LIMIT_998)):
        lo, hi = funnel_limits(n, target / 100.0, level=level)
        for bound, name in ((lo, f"{level:.1%} limits"), (hi, None)):
            sns.lineplot(
                x=n,
                y=bound,
                estimator=None,
                sort=False,
                color=colour,
                linestyle=style,
                label=name,
                legend=False,
                ax=ax,
            )
    ax.axhline(target, color=palette.TARGET, linewidth=1, label=f"target {target:.1f}%")
    sns.scatterplot(
        x=shown["denominator"].to_numpy(dtype="float64"),
        y=shown["rate"].to_numpy(dtype="float64"),
        color=palette.PUBLISHED,
        s=40,
        zorder=3,
        legend=False,
        ax=ax,
    )
    for _, row in shown.iterrows():
        ax.annotate(
            str(row[label]),
            (row["denominator"], row["rate"]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlabel("denominator")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def gap_chart(
    rates: pd.DataFrame,
    *,
    label: str,
    title: str = "",
    xlabel: str | None = None,
    ylabel: str = "rate (%)",
) -> ChartFigure:
    """Inequality gaps: each group's rate with its 95 % interval, against the overall rate.

    Parameters
    ----------
    rates
        From :func:`iaptkit.charts.published.protected_rates`: ``label``, ``rate``,
        ``ci_lower``, ``ci_upper``; the ``Total`` row (if any) is drawn as the reference line;
        suppressed rows (NaN) are left out and named below the axis. The groups are drawn in
        the column's order (an ordered categorical, e.g. IMD decile 1..10, keeps it).
    label
        The group column (e.g. ``imd_decile``).
    title, xlabel, ylabel
        Labels.

    Returns
    -------
    ChartFigure
        One point per published group (``ax.collections[0]``), error bars, and the overall
        rate as a horizontal line.

    Notes
    -----
    The rates and intervals are those of the published counts only (docs/disclosure-control.md,
    "Derived statistics").

    Examples
    --------
    >>> r = pd.DataFrame({"imd_decile": ["1", "2", "Total"], "rate": [40.0, 50.0, 45.0],
    ...                   "ci_lower": [35.0, 45.0, 42.0], "ci_upper": [45.0, 55.0, 48.0]})
    >>> fig = gap_chart(r, label="imd_decile")
    >>> fig.axes[0].collections[0].get_offsets()[:, 1].tolist()
    [40.0, 50.0]
    """
    is_total = rates[label].astype(str) == "Total"
    groups = rates.loc[~is_total]
    if isinstance(groups[label].dtype, pd.CategoricalDtype):
        groups = groups.sort_values(label, kind="stable")
    shown = groups.dropna(subset=["rate"])
    hidden = [str(x) for x in groups.loc[groups["rate"].isna(), label]]
    fig, ax = _new_figure()
    xs = [str(x) for x in shown[label]]
    y = shown["rate"].to_numpy(dtype="float64")
    lo = y - shown["ci_lower"].to_numpy(dtype="float64")
    hi = shown["ci_upper"].to_numpy(dtype="float64") - y
    sns.scatterplot(x=xs, y=y, color=palette.PUBLISHED, s=40, zorder=3, legend=False, ax=ax)
    ax.errorbar(xs, y, yerr=[lo, hi], fmt="none", ecolor=palette.PUBLISHED, capsize=3)
    total = rates.loc[is_total, "rate"].dropna()
    if len(total):
        ax.axhline(
            float(total.iloc[0]),
            color=palette.TARGET,
            linewidth=1,
            linestyle="--",
            label=f"overall {float(total.iloc[0]):.1f}%",
        )
        ax.legend(fontsize="small")
    ax.set_xlabel(xlabel or label)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if hidden:
        ax.annotate(
            "* suppressed: " + ", ".join(hidden),
            (0, -0.2),
            xycoords="axes fraction",
            fontsize=8,
            color=palette.SUPPRESSED,
        )
    _rotate_labels(ax, len(xs) > 6)
    return fig
