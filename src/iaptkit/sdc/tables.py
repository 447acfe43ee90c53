"""Count tables as cells: inner cells, margins or hierarchies, and the additive relations.

:func:`iaptkit.sdc.counts.inner_counts` validates a long table (dims + a count column) or
microdata (one row per person: counted) and returns one row per inner cell. :func:`build_cells`
adds the totals -- all marginal totals (every combination of dims summed over, labelled
``"Total"``) and/or given hierarchies (``child -> parent`` mappings, e.g. provider -> ICB ->
England) -- and the relations ``A x = 0`` linking each total to its parts.
:mod:`iaptkit.sdc.linking` joins several tables into one cell space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.errors import ConfigError
from iaptkit.sdc.solver.cells import CellGrid
from iaptkit.sdc.solver.hypercube import axis_moves

__all__ = [
    "TOTAL",
    "CellTable",
    "DimStructure",
    "build_cells",
    "dim_structure",
]

#: Label of a marginal total.
TOTAL = "Total"

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class DimStructure:
    """The labels of one dimension and how they add up.

    Attributes
    ----------
    name
        The dimension.
    nodes
        Every label: leaves first (data level), then totals bottom-up.
    leaves
        Labels at the data level.
    children
        For each total label, its direct parts.
    top
        The label of the single total over everything (``"Total"`` or a hierarchy root), or
        ``None`` when there is none.
    depth
        Levels above the leaves for each node (0 for leaves).
    """

    name: str
    nodes: tuple[str, ...]
    leaves: tuple[str, ...]
    children: Mapping[str, tuple[str, ...]]
    top: str | None
    depth: Mapping[str, int]

    def membership(self) -> sparse.csr_matrix:
        """``(len(nodes), len(leaves))`` 0/1 matrix: leaf ``j`` is under node ``i``."""
        index = {leaf: j for j, leaf in enumerate(self.leaves)}
        rows: list[int] = []
        cols: list[int] = []
        for i, node in enumerate(self.nodes):
            for leaf in self._leaves_under(node):
                rows.append(i)
                cols.append(index[leaf])
        data = np.ones(len(rows), dtype=np.int64)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(self.nodes), len(self.leaves)))

    def _leaves_under(self, node: str) -> list[str]:
        if node not in self.children:
            return [node]
        out: list[str] = []
        for child in self.children[node]:
            out.extend(self._leaves_under(child))
        return out


def dim_structure(
    name: str,
    leaves: Sequence[str],
    *,
    margins: bool,
    hierarchy: Mapping[str, str] | None = None,
) -> DimStructure:
    """The labels of a dimension with its totals.

    Parameters
    ----------
    name
        The dimension.
    leaves
        The labels found in the data.
    margins
        Add a ``"Total"`` over all leaves (or over the roots of a hierarchy with several roots).
    hierarchy
        ``child -> parent`` mapping (e.g. provider -> ICB, ICB -> England). Leaves of the
        hierarchy absent from the data are cells with a count of 0.

    Returns
    -------
    DimStructure

    Raises
    ------
    ConfigError
        A data label missing from the hierarchy, a data label that is a parent, or a cycle.

    Notes
    -----
    Hierarchies provider -> commissioner -> England: ``docs/disclosure-control.md``
    ("The attacker": totals, subtotals, hierarchies).

    Examples
    --------
    >>> s = dim_structure("org", ["A", "B", "C"], margins=True,
    ...                   hierarchy={"A": "X", "B": "X", "C": "Y", "X": "England", "Y": "England"})
    >>> s.nodes, s.top
    (('A', 'B', 'C', 'X', 'Y', 'England'), 'England')
    """
    data_leaves = sorted(set(map(str, leaves)))
    if hierarchy is None:
        if margins and TOTAL in data_leaves:
            raise ConfigError(
                f"Dimension {name!r}: the label {TOTAL!r} is in the data but margins are asked "
                f"for; expected inner cells only (margins are added by iaptkit)."
            )
        if not margins:
            return DimStructure(
                name, tuple(data_leaves), tuple(data_leaves), {}, None, {x: 0 for x in data_leaves}
            )
        children = {TOTAL: tuple(data_leaves)}
        flat = {x: 0 for x in data_leaves} | {TOTAL: 1}
        return DimStructure(name, (*data_leaves, TOTAL), tuple(data_leaves), children, TOTAL, flat)
    parent = {str(k): str(v) for k, v in hierarchy.items()}
    parents = set(parent.values())
    bad_parent = [x for x in data_leaves if x in parents]
    if bad_parent:
        raise ConfigError(
            f"Dimension {name!r}: data labels {bad_parent[:5]} are parents in the hierarchy; "
            "expected data at the lowest level only (totals are added by iaptkit)."
        )
    unknown = [x for x in data_leaves if x not in parent]
    if unknown:
        raise ConfigError(
            f"Dimension {name!r}: {len(unknown)} data labels are not in the hierarchy mapping "
            f"(e.g. {unknown[:5]}); expected every label to have a parent."
        )
    all_leaves = sorted((set(parent) - parents) | set(data_leaves))
    kids: dict[str, list[str]] = {}
    for child, par in parent.items():
        kids.setdefault(par, []).append(child)
    depth: dict[str, int] = {}

    def _depth(node: str, seen: frozenset[str]) -> int:
        if node in seen:
            raise ConfigError(f"Dimension {name!r}: the hierarchy has a cycle through {node!r}.")
        if node in depth:
            return depth[node]
        d = 0 if node not in kids else 1 + max(_depth(c, seen | {node}) for c in kids[node])
        depth[node] = d
        return d

    roots = sorted(parents - set(parent))
    if not roots:
        raise ConfigError(f"Dimension {name!r}: the hierarchy has no root (a cycle).")
    for r in roots:
        _depth(r, frozenset())
    unreachable = sorted(parents - set(depth))
    if unreachable:
        raise ConfigError(
            f"Dimension {name!r}: the hierarchy has a cycle through {unreachable[:5]} "
            "(they never reach a top level)."
        )
    children = {k: tuple(sorted(v)) for k, v in kids.items()}
    top: str | None = roots[0] if len(roots) == 1 else None
    if len(roots) > 1 and margins:
        if TOTAL in parent or TOTAL in parents:
            raise ConfigError(f"Dimension {name!r}: {TOTAL!r} is a label in the hierarchy.")
        children[TOTAL] = tuple(roots)
        depth[TOTAL] = 1 + max(depth[r] for r in roots)
        top = TOTAL
    internal = sorted(children, key=lambda x: (depth[x], x))
    for leaf in all_leaves:
        depth.setdefault(leaf, 0)
    return DimStructure(
        name, (*all_leaves, *internal), tuple(all_leaves), children, top, dict(depth)
    )


@dataclass(frozen=True, eq=False)
class CellTable:
    """The cells of one table (or of several merged) with their relations.

    Attributes
    ----------
    keys
        One row per cell: the key columns (strings).
    values
        True counts, ``int64``.
    is_margin
        Whether a cell is a total of others.
    level
        How many levels of aggregation are above the data level (0 = inner cell).
    relations
        ``(m, n)`` sparse; ``relations @ values == 0``.
    inner
        ``(n, n)`` sparse 0/1: row ``i`` marks the inner cells that make up cell ``i``
        (the identity for an inner cell). ``None`` when unknown (merged tables).
    inequalities
        ``(k, n)`` sparse with ``inequalities @ values <= 0``, or ``None``.
    grids
        Where the cells of each table sit on its dimensions (for hypercube moves); empty when
        unknown.
    """

    keys: pd.DataFrame
    values: IntArray
    is_margin: BoolArray
    level: IntArray
    relations: sparse.csr_matrix
    inner: sparse.csr_matrix | None = None
    inequalities: sparse.csr_matrix | None = None
    grids: tuple[CellGrid, ...] = ()

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.values.shape[0])


def build_cells(inner: pd.DataFrame, structures: Sequence[DimStructure]) -> CellTable:
    """All cells of a table (inner cells and totals) with the relations between them.

    Parameters
    ----------
    inner
        One row per inner cell (:func:`iaptkit.sdc.counts.inner_counts`): dims + ``value``.
    structures
        One :class:`DimStructure` per dim, in the order of the dims.

    Returns
    -------
    CellTable
        Cells in C order over the nodes of each dim (inner cells absent from ``inner`` are 0).

    Notes
    -----
    Every total equals the sum of its parts, for each dim separately (redundant relations are
    kept: the attacker of docs/disclosure-control.md knows them all).

    Examples
    --------
    >>> inner = pd.DataFrame({"a": ["x", "y"], "value": [3, 4]})
    >>> t = build_cells(inner, [dim_structure("a", ["x", "y"], margins=True)])
    >>> t.keys["a"].tolist(), t.values.tolist(), (t.relations @ t.values).tolist()
    (['x', 'y', 'Total'], [3, 4, 7], [0.0])
    """
    dims = [s.name for s in structures]
    shape_leaves = tuple(len(s.leaves) for s in structures)
    shape_nodes = tuple(len(s.nodes) for s in structures)
    leaf_index = [{x: i for i, x in enumerate(s.leaves)} for s in structures]
    tensor = np.zeros(shape_leaves, dtype=np.int64)
    if len(inner):
        idx = tuple(
            inner[d].map(leaf_index[k]).to_numpy(dtype=np.int64) for k, d in enumerate(dims)
        )
        tensor[idx] = inner["value"].to_numpy(dtype=np.int64)
    members = [s.membership() for s in structures]
    full = tensor
    for axis, m in enumerate(members):
        dense = m.toarray()
        full = np.moveaxis(np.tensordot(dense, full, axes=([1], [axis])), 0, axis)
    values = np.asarray(full, dtype=np.int64).ravel()
    n = values.shape[0]
    grids = np.meshgrid(*[np.arange(k) for k in shape_nodes], indexing="ij")
    keys = pd.DataFrame(
        {
            d: np.asarray(s.nodes, dtype=object)[grids[k].ravel()]
            for k, (d, s) in enumerate(zip(dims, structures, strict=True))
        }
    )
    level = np.zeros(n, dtype=np.int64)
    for k, s in enumerate(structures):
        depth = np.array([s.depth[x] for x in s.nodes], dtype=np.int64)
        level += depth[grids[k].ravel()]
    is_margin = level > 0
    cell_id = np.arange(n, dtype=np.int64).reshape(shape_nodes)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    n_rel = 0
    for axis, s in enumerate(structures):
        pos = {x: i for i, x in enumerate(s.nodes)}
        for parent, kids in s.children.items():
            p_ids = np.take(cell_id, pos[parent], axis=axis).ravel()
            m = p_ids.shape[0]
            r = np.arange(n_rel, n_rel + m, dtype=np.int64)
            rows.append(r)
            cols.append(p_ids)
            vals.append(np.full(m, -1.0))
            for kid in kids:
                rows.append(r)
                cols.append(np.take(cell_id, pos[kid], axis=axis).ravel())
                vals.append(np.ones(m))
            n_rel += m
    if rows:
        relations = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_rel, n),
        )
    else:
        relations = sparse.csr_matrix((0, n), dtype=np.float64)
    inner_mat = reduce(lambda a, b: sparse.kron(a, b, format="csr"), members)
    # Columns of ``inner_mat`` are leaf combinations; map them to the cell ids of inner cells.
    leaf_pos = [np.array([s.nodes.index(x) for x in s.leaves]) for s in structures]
    leaf_grid = np.meshgrid(*leaf_pos, indexing="ij")
    leaf_cells = cell_id[tuple(g.ravel() for g in leaf_grid)]
    coo = sparse.coo_matrix(inner_mat)
    inner_cells = sparse.csr_matrix(
        (np.ones(coo.nnz, dtype=np.int64), (coo.row, leaf_cells[coo.col])), shape=(n, n)
    )
    axes = []
    for st in structures:
        at = {x: i for i, x in enumerate(st.nodes)}
        parts = {at[p]: [at[c] for c in cs] for p, cs in st.children.items()}
        axes.append(axis_moves(len(st.nodes), parts))
    return CellTable(
        keys=keys,
        values=values,
        is_margin=np.asarray(is_margin, dtype=bool),
        level=level,
        relations=relations,
        inner=inner_cells,
        grids=(CellGrid(index=cell_id, axes=tuple(axes)),),
    )
