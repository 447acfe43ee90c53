"""Safe figures in one call: ``hist`` and ``barplot`` drawn from protected numbers only.

:func:`safe_hist` bins a numeric column (in the engine for an Ibis table) on edges that are round
numbers outside the data, so no edge is an individual's value (the range of the data is not
shown to more than a bin's width), protects the bin counts with :func:`iaptkit.sdc.protect`
(a small bin is suppressed: not drawn, marked ``*``), draws the published counts with seaborn
and registers the figure with its protected data table (``Release.add_figure``: ``review``, an
image is looked at; ``fail`` if the table could not be protected). Values outside explicit
``bins`` are counted and named in the reasons, never silently lost.

:func:`safe_barplot` draws a count per category (protected as above) or a mean/median of ``y``
per category checked by :func:`iaptkit.release.analysis.safe_pivot_table` (contributors,
dominance, p%); no error bars (an interval shows the spread of few people).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.release.analysis import safe_pivot_table
from iaptkit.release.analysis_engine import is_ibis
from iaptkit.release.analysis_record import CheckedOutput
from iaptkit.sdc import Policy, load_policy, protect

__all__ = ["bin_edges", "safe_barplot", "safe_hist"]


def bin_edges(lo: float, hi: float, bins: int) -> np.ndarray:
    """About ``bins`` equal bins of a round width (1, 2 or 5 x 10^k) covering ``[lo, hi]``.

    The first edge is at or below ``lo`` and the last above ``hi``: neither is a data value
    unless it happens to be a multiple of the width.

    Examples
    --------
    >>> bin_edges(3.0, 26.0, 5).tolist()
    [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    """
    if bins < 1:
        raise ConfigError(f"hist: expected bins >= 1; found {bins}")
    raw = max((hi - lo) / bins, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    count = max(1, math.floor((hi - start) / step) + 1)
    edges: np.ndarray = start + step * np.arange(count + 1, dtype="float64")
    return edges


def _hist_counts(data: Any, column: str, bins: int | Sequence[float]) -> tuple[np.ndarray, Any]:
    if is_ibis(data):
        v = data[column].cast("float64")
        t = data.filter(v.notnull())
        lo_hi = t.aggregate(lo=t[column].cast("float64").min(), hi=t[column].max()).to_pandas()
        lo, hi = float(lo_hi["lo"].iloc[0]), float(lo_hi["hi"].iloc[0])
        edges = (
            np.asarray(bins, "float64") if not isinstance(bins, int) else bin_edges(lo, hi, bins)
        )
        step = t[column].cast("float64")
        which = t.mutate(_b=step.bucket(list(edges), close_extreme=False, include_over=True))
        agg = which.group_by("_b").aggregate(n=which.count()).to_pandas()
        # bins 0 .. len(edges) - 2, then one count of the values outside (over or under)
        counts = np.zeros(len(edges), dtype="int64")
        for b, n in zip(agg["_b"], agg["n"], strict=True):
            counts[len(edges) - 1 if pd.isna(b) else min(int(b), len(edges) - 1)] += int(n)
        return edges, counts
    values = pd.to_numeric(pd.Series(data[column]), errors="coerce").dropna().astype("float64")
    if values.empty:
        raise ConfigError(f"hist: expected numbers in column {column!r}; found none")
    edges = (
        np.asarray(bins, "float64")
        if not isinstance(bins, int)
        else bin_edges(float(values.min()), float(values.max()), bins)
    )
    inside, _ = np.histogram(values[(values >= edges[0]) & (values < edges[-1])], edges)
    outside = int(((values < edges[0]) | (values >= edges[-1])).sum())
    return edges, np.append(inside, outside)


def safe_hist(
    rel: Any,
    data: Any,
    column: str,
    bins: int | Sequence[float] = 10,
    *,
    policy: Policy | str = "nhs-sde",
    name: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> Figure:
    """A histogram of ``column`` from protected bin counts, registered with its table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
    >>> df = pd.DataFrame({"phq9": [3.0] * 4 + [12.0] * 40 + [20.0] * 30})
    >>> fig = safe_hist(rel, df, "phq9", bins=4, policy="sdap", name="h")
    >>> shown = pd.read_csv(rel.path / "outputs" / "h.data.csv")
    >>> dict(zip(shown["bin"], shown["value"]))
    {'[0, 5)': '*', '[10, 15)': '40', '[15, 20)': '*', '[20, 25)': '30', '[5, 10)': '*'}
    """
    pol = load_policy(policy)
    edges, counts = _hist_counts(data, column, bins)
    inner, outside = counts[:-1], int(counts[-1])
    labels = [f"[{a:g}, {b:g})" for a, b in pairwise(edges.tolist())]
    table = pd.DataFrame({"bin": labels, "n": inner.astype("int64")})
    label = name or f"hist_{column}"
    record = dict(record or {})
    try:
        pt = protect(table, ["bin"], "n", policy=pol, margins=False, name=label)
    except AuditFailedError as exc:
        return _refused(rel, table, pol, label, record, f"audit: {exc}")
    shown = pt.published_long()
    heights = pd.to_numeric(shown["value"], errors="coerce")
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
    sns.barplot(x=shown["bin"], y=heights, ax=ax, color="#005EB8", order=labels)
    for i, h in enumerate(heights):
        if pd.isna(h):
            ax.text(i, 0, "*", ha="center", va="bottom")
    ax.set_xlabel(column)
    ax.set_ylabel(f"count ({pol.id}: * suppressed)")
    ax.tick_params(axis="x", rotation=45)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / f"{label}.png"
        fig.savefig(png, dpi=100)
        out = rel.add_figure(
            png, pt, name=label, parameters={"call": "hist", "column": column}, **record
        )
    if outside:
        # named in the output's reasons: values outside explicit bins are not drawn
        rel.set_status(
            out.uid,
            str(out.status),
            f"{outside} value(s) outside the bins {edges[0]:g}..{edges[-1]:g} are not shown",
            source="hist",
        )
    return fig


def _refused(
    rel: Any, table: pd.DataFrame, pol: Policy, label: str, record: Mapping[str, Any], why: str
) -> Figure:
    published = table[["bin"]].assign(value="*", policy_id=pol.id, policy_version=pol.version)
    result = CheckedOutput(
        "figure", published, table, ("fail",), (why,), pol.id, pol.version, dims=("bin",)
    )
    rel.add_checked(result, name=label, **dict(record))
    return Figure()


def safe_barplot(
    rel: Any,
    data: Any,
    x: str,
    y: str | None = None,
    estimator: str = "mean",
    *,
    policy: Policy | str = "nhs-sde",
    name: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> Figure:
    """Bars per category of ``x``: protected counts (``y=None``) or checked ``estimator`` of ``y``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
    >>> df = pd.DataFrame({"g": ["a"] * 30 + ["b"] * 2, "s": [3.0, 5.0] * 15 + [9.0] * 2})
    >>> fig = safe_barplot(rel, df, "g", "s", policy="sdap", name="b")
    >>> rel.output("b").kind, pd.read_csv(rel.path / "outputs" / "b.csv")["value"].tolist()
    ('figure', ['4', '*'])
    """
    label = name or f"barplot_{y or 'count'}_by_{x}"
    record = dict(record or {})
    sink = _Capture()
    stat = "count" if y is None else estimator
    table = safe_pivot_table(sink, data, y, x, None, stat, policy=policy, name=label, record=record)
    heights = table.iloc[:, 0]
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
    cats = [str(c) for c in heights.index]
    sns.barplot(x=cats, y=heights.to_numpy(), ax=ax, color="#005EB8", order=cats)
    for i, h in enumerate(heights):
        if pd.isna(h):
            ax.text(i, 0, "*", ha="center", va="bottom")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{stat} of {y}" if y else "count")
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / f"{label}.png"
        fig.savefig(png, dpi=100)
        if sink.table is not None:
            rel.add_figure(png, sink.table, name=label, parameters=sink.params, **record)
        elif sink.checked is not None:
            checked = sink.checked
            result = CheckedOutput(
                "figure", checked.published, checked.underlying,
                (*checked.statuses, "review"),
                (*checked.reasons, "image: the checker compares it with its data table"),
                checked.policy_id, checked.policy_version, dims=checked.dims, image=png,
                parameters={**checked.parameters, "call": "barplot"},
            )  # fmt: skip
            rel.add_checked(result, name=label, **record)
    return fig


class _Capture:
    """Receives what :func:`safe_pivot_table` would register, so the figure registers it."""

    def __init__(self) -> None:
        self.table: Any = None
        self.checked: CheckedOutput | None = None
        self.params: dict[str, Any] = {}

    def add_table(self, pt: Any, **kwargs: Any) -> None:
        self.table, self.params = pt, dict(kwargs.get("parameters") or {})

    def add_checked(self, result: CheckedOutput, **kwargs: Any) -> None:
        self.checked = result
