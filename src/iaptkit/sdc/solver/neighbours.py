"""Cells near a cell in the relation graph: the neighbourhood of one local LP.

The local LPs of the audit's pre-pass (:mod:`iaptkit.sdc.solver.cycles`) and of the modular
search (:mod:`iaptkit.sdc.solver.modular`) take a cell ``i`` and the cells within a few
relation steps of it (cells are neighbours when one relation or inequality row holds both),
breadth first, up to a cap. On tables without grids (the measures table) there are tens of
thousands of such neighbourhoods per search, so the walk is done a whole level at a time with
array operations: the order, and so the cells kept at the cap, is that of the plain walk
(frontier cells in order, each cell's rows in order, each row's cells in order, optionally
with the ``first`` cells of a row before the others).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["relation_neighbourhood"]

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def _gather(
    indptr: npt.NDArray[np.int32], indices: npt.NDArray[np.int32], ids: IntArray
) -> tuple[IntArray, IntArray]:
    """The entries of CSR rows ``ids`` one after another, and each entry's row position."""
    starts = indptr[ids].astype(np.intp)
    lens = indptr[ids + 1].astype(np.intp) - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    ends = np.cumsum(lens)
    pos = np.arange(total, dtype=np.intp) + np.repeat(starts - (ends - lens), lens)
    seg = np.repeat(np.arange(ids.size, dtype=np.intp), lens)
    return indices[pos].astype(np.intp), seg


def _first_occurrences(a: IntArray) -> IntArray:
    """``a`` without repeats, each value where it first occurs."""
    if a.size < 2:
        return a
    _, idx = np.unique(a, return_index=True)
    return a[np.sort(idx)]


def relation_neighbourhood(
    i: int,
    depth: int,
    cell_rows: sparse.csr_matrix,
    rows: sparse.csr_matrix,
    allowed: BoolArray,
    cap: int,
    first: BoolArray | None = None,
) -> IntArray:
    """The allowed cells within ``depth`` relation steps of ``i`` (at most ``cap``), sorted.

    Parameters
    ----------
    i
        The cell (always in the result).
    depth
        Relation steps.
    cell_rows, rows
        The rows of each cell (``rows`` transposed, CSR) and the relation (and inequality)
        rows (CSR).
    allowed
        ``bool`` ``(n,)``: cells that may be taken (e.g. free cells).
    cap
        Cells at most, ``i`` included. At the cap the cells met first in the walk are kept.
    first
        Optional ``bool`` ``(n,)``: within each row these cells are met before the others
        (e.g. suppressed cells, which give a local LP the most room).

    Returns
    -------
    numpy.ndarray
        The cells, sorted.

    Examples
    --------
    Cells 0-1-2 in one row, 2-3 in another: one step from 0 reaches 1 and 2, two reach 3.

    >>> rows = sparse.csr_matrix(np.array([[1.0, 1.0, -1.0, 0.0], [0.0, 0.0, 1.0, -1.0]]))
    >>> cell_rows = sparse.csr_matrix(rows.T)
    >>> ok = np.ones(4, dtype=bool)
    >>> relation_neighbourhood(0, 1, cell_rows, rows, ok, 10).tolist()
    [0, 1, 2]
    >>> relation_neighbourhood(0, 2, cell_rows, rows, ok, 10).tolist()
    [0, 1, 2, 3]
    >>> relation_neighbourhood(0, 2, cell_rows, rows, ok, 2).tolist()
    [0, 1]
    """
    seen = np.zeros(allowed.shape[0], dtype=bool)
    seen[i] = True
    found: list[IntArray] = [np.array([i], dtype=np.intp)]
    count = 1
    frontier = found[0]
    for _ in range(depth):
        if count >= cap:
            break
        rr, _ = _gather(cell_rows.indptr, cell_rows.indices, frontier)
        rr = _first_occurrences(rr)
        cols, seg = _gather(rows.indptr, rows.indices, rr)
        keep = allowed[cols]
        cols, seg = cols[keep], seg[keep]
        if first is not None and cols.size:
            order = np.lexsort((np.arange(cols.size), ~first[cols], seg))
            cols = cols[order]
        new = _first_occurrences(cols[~seen[cols]])
        if count + new.size >= cap:
            found.append(new[: cap - count])
            break
        seen[new] = True
        found.append(new)
        count += int(new.size)
        frontier = new
        if frontier.size == 0:
            break
    return np.sort(np.concatenate(found))
