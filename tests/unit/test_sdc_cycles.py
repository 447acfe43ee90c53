"""Inner bounds from local feasible moves (iaptkit.sdc.solver.cycles) against the exact LP audit."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import sparse

from iaptkit.sdc.attack import attack
from iaptkit.sdc.audit import METHOD_EXACT, METHOD_SUFFICIENT, audit
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.cycles import inner_bounds
from iaptkit.sdc.solver.intervals import required_width


def _grid_relations(shape: tuple[int, ...]) -> sparse.csr_matrix:
    """``sum(parts) - total = 0`` along every axis (last index of an axis is its total)."""
    idx = np.arange(math.prod(shape)).reshape(shape)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    r = 0
    for axis, size in enumerate(shape):
        lines = np.moveaxis(idx, axis, -1).reshape(-1, size)
        k = lines.shape[0]
        rows.append(np.repeat(np.arange(r, r + k), size))
        cols.append(lines.reshape(-1))
        v = np.ones((k, size))
        v[:, -1] = -1.0
        vals.append(v.reshape(-1))
        r += k
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r, math.prod(shape)),
    )


def _space(inner: npt.NDArray[np.int64], rounded: bool) -> CellSpace:
    full = inner.astype(np.int64)
    for axis in range(full.ndim):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    v = full.reshape(-1)
    n = v.size
    if rounded:
        r5 = ((v + 2) // 5) * 5
        lo = np.where(v >= 10, np.maximum(r5 - 2, 10), v).astype(float)
        hi = np.where(v >= 10, r5 + 2, v).astype(float)
    else:
        lo = hi = v.astype(float)
    return CellSpace(
        values=v,
        relations=_grid_relations(full.shape),
        published_lower=lo,
        published_upper=hi,
        suppressed_lower=np.zeros(n),
        suppressed_upper=np.full(n, np.inf),
        primary=v < 10,
        structural_zero=np.zeros(n, dtype=bool),
        protection_width=np.full(n, 10.0),
        cost=v + 1.0,
    )


def _cases() -> list[tuple[CellSpace, npt.NDArray[np.bool_]]]:
    rng = np.random.default_rng(7)
    out: list[tuple[CellSpace, npt.NDArray[np.bool_]]] = []
    shapes = [(4, 3), (5, 4), (6, 3), (3, 3, 2), (4, 3, 3), (3, 2, 2)]
    for case, shape in enumerate(shapes * 3):
        inner = rng.poisson(rng.choice([6.0, 15.0, 40.0]), size=shape).astype(np.int64)
        space = _space(inner, rounded=case % 2 == 1)
        # primaries plus a random extra pattern: some pass, some fail
        extra = rng.random(space.n_cells) < rng.choice([0.1, 0.3, 0.5])
        out.append((space, space.primary | extra))
    return out


CASES = _cases()


@pytest.mark.parametrize("k", range(len(CASES)))
def test_inner_bounds_lie_inside_exact_intervals(k: int) -> None:
    space, sup = CASES[k]
    need = required_width(space)
    targets = np.flatnonzero(sup)
    inner = inner_bounds(space, sup, targets, need)
    exact = attack(space, sup)
    for i in targets:
        # soundness: the attacker's interval contains the inner one (LP tolerance 1e-6)
        assert inner.lower[i] >= exact.lower[i] - 1e-6, (k, i)
        assert inner.upper[i] <= exact.upper[i] + 1e-6, (k, i)
        if inner.proven[i]:
            # a proven cell really meets the criterion on the exact interval
            assert exact.upper[i] - exact.lower[i] >= need[i] - 1e-9, (k, i)
            assert exact.upper[i] > exact.lower[i]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_sufficient_audit_has_the_exact_verdict(k: int) -> None:
    space, sup = CASES[k]
    exact = audit(space, sup)
    suff = audit(space, sup, mode="sufficient")
    assert exact.method == METHOD_EXACT
    assert suff.method == METHOD_SUFFICIENT
    assert "INNER" in suff.protection
    assert suff.passed == exact.passed
    by_index = {c.index: c for c in exact.intervals}
    assert [c.index for c in suff.intervals] == [c.index for c in exact.intervals]
    for c in suff.intervals:
        e = by_index[c.index]
        assert c.passed == e.passed, (k, c.index)
        assert e.lower <= c.lower <= c.upper <= e.upper, (k, c.index)


def test_pre_pass_proves_cells_of_a_suppressed_rectangle() -> None:
    # 2 x 2 with margins, the four inner cells suppressed: a rectangle move of t in [-3, 20]
    space = _space(np.array([[3, 20], [30, 40]]), rounded=False)
    sup = np.zeros(space.n_cells, dtype=bool)
    sup[[0, 1, 3, 4]] = True
    inner = inner_bounds(space, sup, np.flatnonzero(sup), required_width(space))
    assert inner.proven[[0, 1, 3, 4]].all()
    exact = attack(space, sup)
    # the rectangle is the only move: inner equals exact where both ends were pushed
    assert inner.upper[0] == pytest.approx(exact.upper[0]) == 23.0
    assert exact.lower[0] == 0.0


def test_pre_pass_proves_nothing_when_a_cell_is_alone_in_a_row() -> None:
    space = _space(np.array([[3, 20], [30, 40]]), rounded=False)
    sup = np.zeros(space.n_cells, dtype=bool)
    sup[0] = True
    inner = inner_bounds(space, sup, np.array([0]), required_width(space))
    assert not inner.proven[0]
    assert inner.lower[0] == inner.upper[0] == 3.0
    assert not audit(space, sup, mode="sufficient").passed


def test_unknown_mode_is_refused() -> None:
    space, sup = CASES[0]
    with pytest.raises(ValueError, match="mode"):
        audit(space, sup, mode="fast")
