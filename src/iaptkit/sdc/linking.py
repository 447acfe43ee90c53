"""Linked tables: one cell space for several tables, and the sums between them.

:func:`merge_cells` joins tables so that a cell shared by two of them (same population, same
dims values; a dim a table lacks = its total) is one cell; :func:`implied_relations` adds the
sums no single table states (inner cells of one table adding up to the totals of another).
Used by :func:`iaptkit.sdc.protect_linked` and :func:`iaptkit.sdc.audit_release`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.errors import ConfigError
from iaptkit.sdc.tables import CellTable

__all__ = ["implied_relations", "merge_cells"]

IntArray = npt.NDArray[np.int64]


def merge_cells(
    tables: Sequence[CellTable], key_columns: Sequence[str], fill: Mapping[str, str]
) -> tuple[CellTable, list[IntArray]]:
    """Join tables into one cell space; cells with equal keys are one cell.

    Parameters
    ----------
    tables
        The tables.
    key_columns
        The union of their key columns, in order.
    fill
        For each key column, the label used for a table that lacks it (its total).

    Returns
    -------
    merged, positions
        The merged :class:`CellTable` (relations and inequalities of every table, re-indexed)
        and, for each table, the merged index of each of its cells.

    Raises
    ------
    ConfigError
        Two tables give different true values for the same cell.

    Notes
    -----
    Linked tables, docs/disclosure-control.md ("the same cell appearing in several tables").

    Examples
    --------
    >>> from iaptkit.sdc.tables import build_cells, dim_structure
    >>> a = build_cells(pd.DataFrame({"x": ["p", "q"], "value": [3, 4]}),
    ...                 [dim_structure("x", ["p", "q"], margins=True)])
    >>> b = build_cells(pd.DataFrame({"y": ["r"], "value": [7]}),
    ...                 [dim_structure("y", ["r"], margins=True)])
    >>> m, pos = merge_cells([a, b], ["x", "y"], {"x": "Total", "y": "Total"})
    >>> m.n_cells, [p.tolist() for p in pos]
    (4, [[0, 1, 2], [3, 2]])
    """
    key_columns = list(key_columns)
    index: dict[tuple[str, ...], int] = {}
    key_rows: list[tuple[str, ...]] = []
    values: list[int] = []
    margin: list[bool] = []
    level: list[int] = []
    positions: list[IntArray] = []
    for t_no, t in enumerate(tables):
        cols = [
            t.keys[c].astype(str).to_numpy()
            if c in t.keys.columns
            else np.full(t.n_cells, fill[c], dtype=object)
            for c in key_columns
        ]
        pos = np.empty(t.n_cells, dtype=np.int64)
        for i in range(t.n_cells):
            key = tuple(str(col[i]) for col in cols)
            j = index.get(key)
            if j is None:
                j = len(key_rows)
                index[key] = j
                key_rows.append(key)
                values.append(int(t.values[i]))
                margin.append(bool(t.is_margin[i]))
                level.append(int(t.level[i]))
            elif values[j] != int(t.values[i]):
                raise ConfigError(
                    f"Linked tables disagree on cell {dict(zip(key_columns, key, strict=True))}: "
                    f"{values[j]} in an earlier table, {int(t.values[i])} in table {t_no + 1}; "
                    "expected tables from the same population (a dim a table lacks = its total)."
                )
            else:
                margin[j] = margin[j] or bool(t.is_margin[i])
                level[j] = max(level[j], int(t.level[i]))
            pos[i] = j
        positions.append(pos)
    n = len(key_rows)
    rel_blocks: list[sparse.csr_matrix] = []
    ineq_blocks: list[sparse.csr_matrix] = []
    for t, pos in zip(tables, positions, strict=True):
        remap = sparse.csr_matrix(
            (np.ones(t.n_cells), (np.arange(t.n_cells), pos)), shape=(t.n_cells, n)
        )
        if t.relations.shape[0]:
            rel_blocks.append(sparse.csr_matrix(t.relations @ remap))
        if t.inequalities is not None and t.inequalities.shape[0]:
            ineq_blocks.append(sparse.csr_matrix(t.inequalities @ remap))
    relations = (
        sparse.csr_matrix(sparse.vstack(rel_blocks))
        if rel_blocks
        else sparse.csr_matrix((0, n), dtype=np.float64)
    )
    inequalities = sparse.csr_matrix(sparse.vstack(ineq_blocks)) if ineq_blocks else None
    keys = pd.DataFrame(key_rows, columns=key_columns, dtype=object)
    grids = tuple(
        replace(g, index=pos[g.index])
        for t, pos in zip(tables, positions, strict=True)
        for g in t.grids
    )
    merged = CellTable(
        keys=keys,
        values=np.asarray(values, dtype=np.int64),
        is_margin=np.asarray(margin, dtype=bool),
        level=np.asarray(level, dtype=np.int64),
        relations=relations,
        inner=None,
        inequalities=inequalities,
        grids=grids,
    )
    return merged, positions


def implied_relations(
    keys: pd.DataFrame,
    values: npt.ArrayLike,
    dims: Sequence[str],
    fill: Mapping[str, str],
    *,
    group_by: Sequence[str] = (),
) -> sparse.csr_matrix:
    """Sums between merged cells that no single table states: total = sum of its categories.

    Parameters
    ----------
    keys
        One row per merged cell: ``group_by`` columns (e.g. the population) and ``dims``.
    values
        True counts of the merged cells.
    dims
        The dims.
    fill
        For each dim, the label of its total.
    group_by
        Columns that separate independent cell sets (cells of different populations never add).

    Returns
    -------
    scipy.sparse.csr_matrix
        One row ``sum(children) - cell`` for every cell with a dim at its total whose children
        over that dim (every category of the dim seen among the merged cells) are all present
        and add up to it on the true values. E.g. provider x outcome without margins in one
        table and provider totals in another: the attacker knows the outcomes add up.

    Notes
    -----
    Attacker model, ``docs/disclosure-control.md``: the attacker knows "all the
    additive relations between cells ... and the same cell appearing in several tables".

    Examples
    --------
    >>> keys = pd.DataFrame({"org": ["A", "A", "A"], "out": ["y", "n", "Total"]})
    >>> fill = {"org": "Total", "out": "Total"}
    >>> implied_relations(keys, [3, 4, 7], ["org", "out"], fill).toarray()
    array([[ 1.,  1., -1.]])
    """
    vals = np.asarray(values, dtype=np.int64)
    group_by = list(group_by)
    dims = list(dims)
    cols = [*group_by, *dims]
    rows_keys = [tuple(map(str, r)) for r in keys[cols].to_numpy().tolist()]
    index = {k: i for i, k in enumerate(rows_keys)}
    g = len(group_by)
    categories: dict[tuple[tuple[str, ...], int], set[str]] = {}
    for key in rows_keys:
        for k, d in enumerate(dims):
            if key[g + k] != fill[d]:
                categories.setdefault((key[:g], k), set()).add(key[g + k])
    r_idx: list[int] = []
    c_idx: list[int] = []
    data: list[float] = []
    n_rows = 0
    seen: set[tuple[int, ...]] = set()
    for key, j in index.items():
        for k, d in enumerate(dims):
            if key[g + k] != fill[d]:
                continue
            cats = sorted(categories.get((key[:g], k), set()))
            kids = [index.get((*key[: g + k], c, *key[g + k + 1 :])) for c in cats]
            if not cats or any(c is None for c in kids):
                continue
            members = [c for c in kids if c is not None]
            if int(vals[members].sum()) != int(vals[j]):
                continue
            signature = (j, *sorted(members))
            if signature in seen:
                continue
            seen.add(signature)
            for c in members:
                r_idx.append(n_rows)
                c_idx.append(c)
                data.append(1.0)
            r_idx.append(n_rows)
            c_idx.append(j)
            data.append(-1.0)
            n_rows += 1
    return sparse.csr_matrix((data, (r_idx, c_idx)), shape=(n_rows, len(rows_keys)))
