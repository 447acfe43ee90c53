"""The cell space: what the protector knows and what the attacker can see, as arrays.

This is the contract between the table-building side of disclosure control (policies, margins,
primary suppression, rounding: :mod:`iaptkit.sdc.protect`) and the solver side (secondary
suppression and the audit: :mod:`iaptkit.sdc.secondary`, :mod:`iaptkit.sdc.audit`).

A :class:`CellSpace` holds every cell of one or more linked tables once (a cell shared by two
tables of a release has one index), the additive relations between cells (totals, subtotals,
hierarchies, measures that are differences of others), and for each cell the interval the
attacker would know *if the cell were published* and *if it were suppressed*. The attacker
model follows ``docs/disclosure-control.md``: they know every published value and the
policy (so a rounded value ``r`` means ``r-2 .. r+2``, a published count means at least the
threshold), all relations, that counts are whole numbers >= 0, and they cannot tell primary
from secondary suppressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["AxisMoves", "CellGrid", "CellSpace", "CellStatus"]


class CellStatus(IntEnum):
    """Internal status of a cell. Exports show primary and secondary alike (``*``)."""

    PUBLISHED = 0
    PRIMARY = 1
    SECONDARY = 2
    STRUCTURAL_ZERO = 3


@dataclass(frozen=True, eq=False)
class AxisMoves:
    """Elementary moves along one dimension of a table: signed node vectors that keep its sums.

    Each row is a vector ``u`` over the dimension's nodes with ``M u = 0`` for the dimension's
    own relations (every total equals the sum of its parts), e.g. ``+1`` on a category and
    ``-1`` on another, or ``+1`` on a category and on its total. Rows are padded to a common
    length.

    Attributes
    ----------
    nodes
        ``int64`` ``(m, L)``: node positions of each move; ``-1`` pads.
    signs
        ``int8`` ``(m, L)``: ``+1``/``-1`` per node; ``0`` pads.
    """

    nodes: npt.NDArray[np.int64]
    signs: npt.NDArray[np.int8]

    @property
    def chains(self) -> npt.NDArray[np.bool_]:
        """``bool`` ``(m,)``: the moves that are chains (a node and every total above it,
        all ``+1``: they move up together without changing any sum of the dimension)."""
        return np.asarray(np.all(self.signs >= 0, axis=1), dtype=bool)


@dataclass(frozen=True, eq=False)
class CellGrid:
    """Where the cells of one table sit on its dimensions' nodes, and how each axis may move.

    The product of one :class:`AxisMoves` row per dimension is a *hypercube* move of the table
    (``+1``/``-1`` on its corners) that keeps every sum of the table. Used to find feasible
    points quickly (:mod:`iaptkit.sdc.solver.hypercube`); every move used is checked on the full
    relations, so a grid only ever proposes.

    Attributes
    ----------
    index
        ``int64`` array with one axis per dimension (its nodes): the cell index of each node
        combination in the :class:`CellSpace`.
    axes
        One :class:`AxisMoves` per dimension.
    """

    index: npt.NDArray[np.int64]
    axes: tuple[AxisMoves, ...]


@dataclass(frozen=True, eq=False)
class CellSpace:
    """Cells, relations and attacker knowledge for a set of linked tables.

    Parameters
    ----------
    values
        True counts, ``int64``, shape ``(n,)``. Never exported.
    relations
        Sparse ``(m, n)`` matrix ``A``; the true values satisfy ``A @ values == 0``
        (e.g. ``+1`` on each part and ``-1`` on their total).
    published_lower, published_upper
        ``float64`` ``(n,)``: what the attacker knows of a cell whose value is published under
        the policy (e.g. true 13, published 15 under nearest-5 rounding with threshold 10:
        ``[13, 17]``; unrounded: ``[v, v]``).
    suppressed_lower, suppressed_upper
        ``float64`` ``(n,)``: what the attacker knows of a cell shown as ``*`` (typically
        ``[0, inf)``, or ``[1, inf)`` where the policy shows zeros).
    primary
        ``bool`` ``(n,)``: cells the policy suppresses (primary suppressions).
    structural_zero
        ``bool`` ``(n,)``: cells known to be zero by construction; never suppressed, and the
        attacker knows them exactly (bounds ``[0, 0]``).
    protection_width
        ``float64`` ``(n,)``: the width the feasible interval of a primary cell (zeros
        included, where the policy suppresses them) must have (the policy's protection
        width, default its threshold).
    cost
        ``float64`` ``(n,)``: information loss of suppressing the cell (secondary suppression
        prefers few and small cells). Margins usually cost more.
    inequalities
        Optional sparse ``(k, n)`` matrix ``G`` with ``G @ values <= 0`` known to the attacker
        (e.g. recovered <= at_caseness); ``None`` when there are none.
    labels
        Optional human-readable label per cell, for certificates and error messages.
    grids
        Optional :class:`CellGrid` per table (where its cells sit on its dimensions), for fast
        hypercube proofs and secondary suppression; empty when unknown.
    """

    values: npt.NDArray[np.int64]
    relations: sparse.csr_matrix
    published_lower: npt.NDArray[np.float64]
    published_upper: npt.NDArray[np.float64]
    suppressed_lower: npt.NDArray[np.float64]
    suppressed_upper: npt.NDArray[np.float64]
    primary: npt.NDArray[np.bool_]
    structural_zero: npt.NDArray[np.bool_]
    protection_width: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]
    inequalities: sparse.csr_matrix | None = None
    labels: tuple[str, ...] = field(default=())
    grids: tuple[CellGrid, ...] = field(default=())

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.values.shape[0])

    def attacker_bounds(
        self, suppressed: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-cell a-priori bounds the attacker has, given which cells are suppressed.

        Parameters
        ----------
        suppressed
            ``bool`` ``(n,)``: cells shown as ``*`` (primary or secondary alike).

        Returns
        -------
        lower, upper
            ``float64`` arrays; structural zeros are ``[0, 0]``.
        """
        lower = np.where(suppressed, self.suppressed_lower, self.published_lower)
        upper = np.where(suppressed, self.suppressed_upper, self.published_upper)
        lower = np.where(self.structural_zero, 0.0, lower)
        upper = np.where(self.structural_zero, 0.0, upper)
        return lower.astype(np.float64), upper.astype(np.float64)

    def label(self, i: int) -> str:
        """A readable name for cell ``i`` (its label, or ``cell <i>``)."""
        if self.labels and i < len(self.labels):
            return self.labels[i]
        return f"cell {i}"
