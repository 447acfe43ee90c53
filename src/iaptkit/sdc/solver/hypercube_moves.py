"""Hypercube moves on a grid: the cells and signs of each hypercube, rooms, greedy pushes.

A hypercube through a cell of a :class:`~iaptkit.sdc.solver.cells.CellGrid` is one row of
:class:`~iaptkit.sdc.solver.cells.AxisMoves` per dimension (their outer product keeps every
relation of the table). The building blocks here are shared by the audit's proofs
(:func:`iaptkit.sdc.solver.hypercube.hypercube_bounds`) and the hypercube secondary suppression
(:mod:`iaptkit.sdc.solver.hypercube_select`):

* :class:`GridView` and :func:`grid_locations`: the hypercubes through a cell, as blocks of
  ``(cells, signs)`` (vectorised: ``prod(m_k)`` candidates of ``prod(L_k)`` corners);
* :func:`rooms`, :func:`forward_reach` and :func:`push`: how far cells and hypercubes can move
  within the attacker's bounds, and a greedy augmentation along hypercubes;
* :func:`verified_moves`: which candidate points keep every relation, inequality and bound
  (``docs/disclosure-control.md``, "The attacker"); an unverified point proves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.sdc.solver.cells import CellGrid, CellSpace

__all__ = [
    "Block",
    "BoolArray",
    "FloatArray",
    "GridView",
    "IntArray",
    "Locations",
    "Move",
    "Progress",
    "as_move",
    "forward_reach",
    "grid_locations",
    "hypercubes_through",
    "push",
    "rooms",
    "verified_moves",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Dense entries of one chunk of :func:`verified_moves`'s inequality check (8 bytes each).
_DENSE_ENTRIES = 4_000_000
Progress = Callable[[str, int, int], None]
#: A point as ``(cells, displacement)``: the feasible point is ``v`` moved by ``displacement``.
Move = tuple[IntArray, FloatArray]
#: Hypercubes through one cell: ``cells`` and ``signs``, both ``(M, C)`` (``M`` hypercubes of
#: ``C`` corners; corner index ``n`` is a padding sentinel).
Block = tuple[IntArray, npt.NDArray[np.int8]]
#: Per cell, the grids it lies on and its coordinates there.
Locations = dict[int, list[tuple[int, IntArray]]]
_CHUNK = 1 << 21  # corners evaluated at once (memory cap)


@dataclass
class GridView:
    """A grid prepared for lookups: padded index and per-node moves normalised to ``+1``.

    Attributes
    ----------
    padded
        The grid's cell index padded by one node per axis holding the sentinel ``n_cells``
        (absent nodes of shorter moves point there).
    through
        Per axis and node, the axis moves through that node as ``(nodes, signs)``, signs
        multiplied so that the node itself has sign ``+1``.
    """

    padded: IntArray
    through: list[list[Block]]

    @classmethod
    def build(cls, grid: CellGrid, n_cells: int) -> GridView:
        """Prepare ``grid`` of a space of ``n_cells`` cells for :meth:`candidates`.

        Parameters
        ----------
        grid
            A grid of the cell space.
        n_cells
            Number of cells of the space (the padding sentinel).

        Returns
        -------
        GridView
        """
        padded = np.pad(grid.index, [(0, 1)] * grid.index.ndim, constant_values=n_cells)
        through: list[list[Block]] = []
        for k, axis in enumerate(grid.axes):
            n_nodes = grid.index.shape[k]
            per: list[Block] = []
            for x in range(n_nodes):
                hit = axis.nodes == x
                rows = np.flatnonzero(hit.any(axis=1))
                at_x = axis.signs[rows][hit[rows]]
                nodes = np.where(axis.nodes[rows] < 0, n_nodes, axis.nodes[rows])
                per.append((nodes, (axis.signs[rows] * at_x[:, None]).astype(np.int8)))
            through.append(per)
        return cls(padded=padded, through=through)

    def candidates(
        self, coords: Sequence[int] | IntArray, rows: Sequence[IntArray | None] | None = None
    ) -> Iterator[Block]:
        """Hypercubes through the cell at ``coords``: ``(cells, signs)`` blocks ``(M, C)``.

        Parameters
        ----------
        coords
            The cell's node on each axis of the grid.
        rows
            Optional, per axis, the positions of the axis moves through the node to use
            (``None``: all of them); default all moves on every axis.

        Yields
        ------
        Block
            Chunks of hypercubes (at most about ``2**21`` corners at once); the cell itself
            has sign ``+1`` in each.
        """
        parts = [self.through[k][int(x)] for k, x in enumerate(coords)]
        if rows is not None:
            parts = [
                p if r is None else (p[0][r], p[1][r]) for p, r in zip(parts, rows, strict=True)
            ]
        if any(p[0].shape[0] == 0 for p in parts):
            return
        k_axes = len(parts)
        corners = int(np.prod([p[0].shape[1] for p in parts]))
        rest = int(np.prod([p[0].shape[0] for p in parts[1:]]))
        if corners * rest * parts[0][0].shape[0] <= _CHUNK:
            yield _one_block(self.padded, parts)
            return
        step = max(1, _CHUNK // max(1, corners * rest))
        m0 = parts[0][0].shape[0]
        for start in range(0, m0, step):
            index_args = []
            sign: npt.NDArray[np.int8] = np.ones((1,) * (2 * k_axes), dtype=np.int8)
            for k, (nodes, signs) in enumerate(parts):
                if k == 0:
                    nodes, signs = nodes[start : start + step], signs[start : start + step]
                shape = [1] * (2 * k_axes)
                shape[k] = nodes.shape[0]
                shape[k_axes + k] = nodes.shape[1]
                index_args.append(nodes.reshape(shape))
                sign = sign * signs.reshape(shape)
            cells = self.padded[tuple(index_args)]
            m = int(np.prod(cells.shape[:k_axes]))
            yield (
                cells.reshape(m, -1),
                np.broadcast_to(sign, cells.shape).reshape(m, -1),
            )


def _one_block(padded: IntArray, parts: list[Block]) -> Block:
    """All hypercubes of ``parts`` (one ``(nodes, signs)`` per axis) at once, by one take per axis.

    Same cells and signs, in the same order, as the chunks of :meth:`GridView.candidates`.
    """
    cells = padded
    sign = parts[0][1]
    for k, (nodes, signs) in enumerate(parts):
        cells = np.take(cells, nodes, axis=2 * k)  # axis k becomes (moves, corners)
        if k:
            sign = np.multiply.outer(sign, signs)
    perm = [2 * k for k in range(len(parts))] + [2 * k + 1 for k in range(len(parts))]
    m = math.prod(int(p[0].shape[0]) for p in parts)
    return cells.transpose(perm).reshape(m, -1), sign.transpose(perm).reshape(m, -1)


def grid_locations(space: CellSpace) -> tuple[list[GridView], Locations]:
    """Prepared views of the space's grids and where each cell lies on them.

    Parameters
    ----------
    space
        The cell space (its ``grids``).

    Returns
    -------
    views, where
        One :class:`GridView` per grid of ``space.grids``, and per cell the list of
        ``(grid position, coordinates)`` it appears at (cells on no grid are absent).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> from iaptkit.sdc.solver.hypercube import margins_grid
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0, grids=(margins_grid((3,)),))
    >>> views, where = grid_locations(sp)
    >>> len(views), [xy.tolist() for _, xy in where[2]]
    (1, [[2]])
    """
    views = [GridView.build(g, space.n_cells) for g in space.grids]
    where: Locations = {}
    for gi, g in enumerate(space.grids):
        flat = g.index.reshape(-1)
        coords = np.stack(np.unravel_index(np.arange(flat.size), g.index.shape), axis=1)
        for c, xy in zip(flat.tolist(), coords, strict=True):
            where.setdefault(int(c), []).append((gi, xy))
    return views, where


def rooms(space: CellSpace, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Room to move up / down per cell, with an infinite sentinel at index ``n``.

    Parameters
    ----------
    space
        The cell space (its true ``values``).
    lo, hi
        ``float64`` ``(n,)``: the bounds each cell must stay within.

    Returns
    -------
    up, down
        ``float64`` ``(n + 1,)``: how far each cell may rise / fall from its true value (never
        negative); index ``n`` (the padding sentinel of :class:`GridView`) is ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> up, down = rooms(sp, np.array([0.0, 12.0, 15.0]), np.array([20.0, 12.0, 15.0]))
    >>> up.tolist(), down.tolist()
    ([17.0, 0.0, 0.0, inf], [3.0, 0.0, 0.0, inf])
    """
    v = space.values.astype(np.float64)
    up = np.append(np.maximum(hi - v, 0.0), np.inf)
    dn = np.append(np.maximum(v - lo, 0.0), np.inf)
    return up, dn


def forward_reach(
    cells: IntArray, signs: npt.NDArray[np.int8], fwd: FloatArray, back: FloatArray
) -> FloatArray:
    """Per hypercube, how far ``t`` may go (``+`` corners use ``fwd`` room, ``-`` ``back``).

    Parameters
    ----------
    cells, signs
        A block of hypercubes ``(M, C)`` (see :class:`Block`).
    fwd, back
        Room per cell in the forward and the backward sense (:func:`rooms`).

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(M,)``: the largest step along each hypercube.

    Examples
    --------
    >>> import numpy as np
    >>> cells, signs = np.array([[0, 1]]), np.array([[1, -1]], dtype=np.int8)
    >>> forward_reach(cells, signs, np.array([5.0, 1.0]), np.array([2.0, 4.0])).tolist()
    [4.0]
    """
    out: FloatArray = np.where(signs > 0, fwd[cells], back[cells]).min(axis=1)
    return out


def push(
    blocks: list[Block],
    fwd: FloatArray,
    back: FloatArray,
    goal: float,
    max_steps: int,
) -> tuple[float, dict[int, float]]:
    """Move the target (``+1`` in every block) forward by up to ``goal``, hypercube by hypercube.

    Greedy augmentation: take the hypercube that can go furthest, move along it, update the
    rooms it used (a corner moved forward has less forward room and more backward room), and
    repeat. Rooms are restored before returning.

    Parameters
    ----------
    blocks
        The hypercubes through the target cell (:func:`hypercubes_through`).
    fwd, back
        Room per cell in the forward and the backward sense (:func:`rooms`); used as scratch
        and restored.
    goal
        The distance wanted.
    max_steps
        Hypercubes combined at most.

    Returns
    -------
    moved, delta
        The distance moved (at most ``goal``) and the displacement per cell (signed, in the
        forward sense; the sentinel cell is left out).

    Examples
    --------
    >>> import numpy as np
    >>> blocks = [(np.array([[0, 1]]), np.array([[1, -1]], dtype=np.int8))]
    >>> push(blocks, np.array([5.0, 1.0, np.inf]), np.array([2.0, 4.0, np.inf]), 10.0, 3)
    (4.0, {0: 4.0, 1: -4.0})
    """
    live: list[Block] = []
    for cells, signs in blocks:
        t = forward_reach(cells, signs, fwd, back)
        keep = t > 0
        if keep.any():
            live.append((cells[keep], signs[keep]))
    moved = 0.0
    delta: dict[int, float] = {}
    saved: dict[int, tuple[float, float]] = {}
    n = fwd.shape[0] - 1
    for _ in range(max_steps):
        if moved >= goal or not live:
            break
        best_t, best = 0.0, None
        for cells, signs in live:
            t = forward_reach(cells, signs, fwd, back)
            k = int(np.argmax(t))
            if t[k] > best_t:
                best_t, best = float(t[k]), (cells[k], signs[k])
        if best is None:
            break
        step = min(best_t, goal - moved, 1e9)  # an unbounded move: far enough
        for c, sg in zip(best[0].tolist(), best[1].tolist(), strict=True):
            if c >= n or sg == 0:
                continue
            if c not in saved:
                saved[c] = (float(fwd[c]), float(back[c]))
            fwd[c] -= step * sg
            back[c] += step * sg
            delta[c] = delta.get(c, 0.0) + step * sg
        moved += step
    for c, (f, b) in saved.items():
        fwd[c], back[c] = f, b
    return moved, delta


def verified_moves(
    space: CellSpace, moves: list[Move], lo: FloatArray, hi: FloatArray
) -> BoolArray:
    """Each ``(cells, displacement)``: ``v + d`` keeps relations, inequalities and bounds.

    Parameters
    ----------
    space
        The cell space (true values, relations and inequalities).
    moves
        Candidate points as ``(cells, displacement)``.
    lo, hi
        ``float64`` ``(n,)``: the attacker's bounds the moved cells must stay within.

    Returns
    -------
    numpy.ndarray
        ``bool`` ``(len(moves),)``: the points that are feasible (relations within ``1e-7``,
        inequalities within ``1e-7``, bounds within ``1e-9``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> lo, hi = np.zeros(3), np.array([np.inf, np.inf, 15.0])
    >>> good = (np.array([0, 1]), np.array([2.0, -2.0]))
    >>> bad = (np.array([0]), np.array([2.0]))
    >>> verified_moves(sp, [good, bad], lo, hi).tolist()
    [True, False]
    """
    if not moves:
        return np.zeros(0, dtype=bool)
    a = sparse.csr_matrix(space.relations, dtype=np.float64)
    v = space.values.astype(np.float64)
    g = None
    gv = np.zeros(0)
    if space.inequalities is not None and space.inequalities.shape[0]:
        g = sparse.csr_matrix(space.inequalities, dtype=np.float64)
        gv = np.asarray(g @ v).ravel()
    # in chunks: the inequality check is dense (rows x moves), and a search can hand over
    # tens of thousands of moves
    step = max(1, _DENSE_ENTRIES // max(1, gv.size))
    ok = np.ones(len(moves), dtype=bool)
    for start in range(0, len(moves), step):
        part = moves[start : start + step]
        ok[start : start + len(part)] = _verified_part(space.n_cells, a, g, gv, v, part, lo, hi)
    return ok


def _verified_part(
    n: int,
    a: sparse.csr_matrix,
    g: sparse.csr_matrix | None,
    gv: FloatArray,
    v: FloatArray,
    moves: list[Move],
    lo: FloatArray,
    hi: FloatArray,
) -> BoolArray:
    """:func:`verified_moves` for one chunk of moves."""
    rows = np.concatenate([m[0] for m in moves])
    cols = np.concatenate([np.full(m[0].size, k) for k, m in enumerate(moves)])
    d = sparse.csc_matrix((np.concatenate([m[1] for m in moves]), (rows, cols)), (n, len(moves)))
    ok = np.ones(len(moves), dtype=bool)
    if a.shape[0]:
        ok &= np.asarray(abs(a @ d).max(axis=0).toarray()).ravel() <= 1e-7
    for k, (cells, disp) in enumerate(moves):
        x = v[cells] + disp
        ok[k] &= bool(np.all(x >= lo[cells] - 1e-9) and np.all(x <= hi[cells] + 1e-9))
    if g is not None and ok.any():
        gd = (g @ d).toarray()
        ok &= np.all(gv[:, None] + gd <= 1e-7, axis=0)
    return ok


def hypercubes_through(views: list[GridView], where: Locations, i: int) -> list[Block]:
    """All hypercubes through cell ``i``, on every grid it lies on.

    Parameters
    ----------
    views, where
        From :func:`grid_locations`.
    i
        The cell.

    Returns
    -------
    list of Block
        Blocks of ``(cells, signs)`` with cell ``i`` at sign ``+1`` (empty when ``i`` lies on
        no grid).
    """
    return [blk for gi, coords in where.get(i, []) for blk in views[gi].candidates(coords)]


def as_move(delta: dict[int, float], sign: float) -> Move:
    """A displacement per cell (from :func:`push`) as a point ``(cells, displacement)``.

    Parameters
    ----------
    delta
        Displacement per cell, in the forward sense of the push.
    sign
        ``+1.0`` when forward is up, ``-1.0`` when forward is down.

    Returns
    -------
    Move

    Examples
    --------
    >>> cells, disp = as_move({0: 4.0, 1: -4.0}, -1.0)
    >>> cells.tolist(), disp.tolist()
    ([0, 1], [-4.0, 4.0])
    """
    cells = np.fromiter(delta.keys(), dtype=np.int64, count=len(delta))
    disp = np.fromiter(delta.values(), dtype=np.float64, count=len(delta)) * sign
    return cells, disp
