"""Safe tables from Ibis tables: counts and cell statistics aggregated in the engine.

An analyst's Ibis table on DuckDB or Spark (e.g. :func:`iaptkit.measures.pathway_table`) is
never pulled into pandas row by row: the group counts, and for aggregates the per-cell
statistics the rules need (contributors, total, the two largest values, any negative value,
mean, median, std), are computed by the engine, one query per set of margins, and only those
per-cell figures come back (:func:`engine_counts`, :func:`engine_cell_stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.release.analysis_cells import MARGIN, complete_cells, margin_sets

__all__ = ["engine_cell_stats", "engine_counts", "is_ibis", "table_of_columns"]


def is_ibis(obj: Any) -> bool:
    """Whether ``obj`` is an Ibis expression (a table or a column).

    Examples
    --------
    >>> is_ibis(ibis.memtable({"a": [1]})), is_ibis(pd.Series([1]))
    (True, False)
    """
    return isinstance(obj, ir.Expr)


def table_of_columns(columns: Sequence[Any]) -> tuple[ir.Table, list[str]]:
    """The one Ibis table the given columns (``t.provider``, ``t["age_band"]``) belong to.

    Raises
    ------
    ConfigError
        Columns of different tables, or expressions that are not plain columns.

    Examples
    --------
    >>> t = ibis.memtable({"a": [1], "b": [2]})
    >>> table, names = table_of_columns([t.a, t.b])
    >>> names
    ['a', 'b']
    """
    tables: list[ir.Table] = []
    names: list[str] = []
    for col in columns:
        op = col.op() if isinstance(col, ir.Column) else None
        rel = getattr(op, "rel", None)
        if rel is None:
            raise ConfigError(
                f"crosstab on Ibis: expected plain columns of one table (t.provider); found "
                f"{type(col).__name__}"
            )
        tables.append(rel.to_expr())
        names.append(str(col.get_name()))
    first = tables[0]
    if any(not t.equals(first) for t in tables[1:]):
        raise ConfigError(
            f"crosstab on Ibis: expected columns of one table; found columns {names} of "
            f"{len({id(t) for t in tables})} different tables"
        )
    return first, names


def engine_counts(table: ir.Table, dims: Sequence[str]) -> pd.DataFrame:
    """Rows per combination of ``dims`` (rows with a missing key left out), counted in the engine.

    Examples
    --------
    >>> t = ibis.memtable({"g": ["a", "a", "b", None]})
    >>> engine_counts(t, ["g"]).sort_values("g").to_dict("list")
    {'g': ['a', 'b'], 'n': [2, 1]}
    """
    dims = list(dims)
    _require(table, dims)
    t = table.filter([table[d].notnull() for d in dims])
    counts = t.group_by(dims).aggregate(n=t.count()).to_pandas()
    for d in dims:
        counts[d] = counts[d].map(str)
    counts["n"] = counts["n"].astype("int64")
    return pd.DataFrame(counts)


def engine_cell_stats(
    table: ir.Table, dims: Sequence[str], value: str, *, margins: bool
) -> pd.DataFrame:
    """The per-cell statistics of :func:`iaptkit.release.analysis_cells.cell_stats`, in the engine.

    Examples
    --------
    >>> t = ibis.memtable({"g": ["a", "a", "b"], "v": [1.0, 3.0, 5.0]})
    >>> s = engine_cell_stats(t, ["g"], "v", margins=True)
    >>> s[["g", "n", "sum", "top1", "top2"]].to_dict("list")
    {'g': ['a', 'b', 'All'], 'n': [2, 1, 3], 'sum': [4.0, 5.0, 9.0], 'top1': [3.0, 5.0, 5.0], \
'top2': [1.0, 0.0, 3.0]}
    """
    dims = list(dims)
    _require(table, [*dims, value])
    base = table.filter([table[d].notnull() for d in dims])
    base = base.mutate(_v=base[value].cast("float64")).filter(lambda t: t._v.notnull())
    parts = []
    for summed in margin_sets(dims, margins):
        keys = [d for d in dims if d not in summed]
        window = ibis.window(group_by=keys or None, order_by=ibis.desc("_v"))
        ranked = base.mutate(_rank=ibis.row_number().over(window))
        v = ranked._v
        metrics = {
            "n": v.count(),
            "sum": v.sum(),
            "mean": v.mean(),
            "median": v.median(),
            "std": v.std(),
            "top1": v.max(),
            "top2": v.max(where=ranked._rank == 1),  # ibis row_number() counts from 0
            "neg": v.min(),
        }
        agg = ranked.group_by(keys).aggregate(**metrics) if keys else ranked.aggregate(**metrics)
        frame = agg.to_pandas()
        for d in dims:
            frame[d] = MARGIN if d in summed else frame[d].map(str)
        parts.append(frame)
    stats = pd.concat(parts, ignore_index=True)
    stats["negative"] = stats["neg"].astype("float64") < 0
    stats["low"] = stats["neg"].astype("float64")
    stats["top2"] = stats["top2"].astype("float64").fillna(0.0)
    stats["count"] = stats["n"].astype("float64")
    for col in ("sum", "mean", "median", "std", "top1"):
        stats[col] = stats[col].astype("float64")
    stats = stats.drop(columns=["neg"])
    stats = stats[stats["n"].fillna(0) > 0]
    return complete_cells(stats, dims, margins)


def _require(table: ir.Table, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(
            f"Ibis table: expected columns {list(columns)}; missing {missing}; found "
            f"{list(table.columns)}"
        )
