"""Test helpers for the SDC solver (audit and secondary suppression): hand-made cell spaces.

``grid_space`` turns an N-dimensional array of counts into a :class:`CellSpace` with every
margin (the last index of each axis is that axis' total), under a simple threshold policy
(counts below ``threshold`` are primary suppressions, zeros too) and optional rounding to the
nearest ``rounding`` for published counts. ``brute_force_intervals`` enumerates every integer
table consistent with what the attacker sees (independent of any LP code).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog

from iaptkit.sdc.solver.cells import CellSpace


def with_margins(inner: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Append a total along every axis (index ``-1``)."""
    full = np.asarray(inner, dtype=np.int64)
    for axis in range(full.ndim):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    return full


def grid_relations(shape: tuple[int, ...]) -> sparse.csr_matrix:
    """Relations ``sum(parts) - total = 0`` along every axis of a margined grid of ``shape``."""
    n = math.prod(shape)
    idx = np.arange(n).reshape(shape)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    r = 0
    for axis, size in enumerate(shape):
        moved = np.moveaxis(idx, axis, -1).reshape(-1, size)
        for line in moved:
            for c in line[:-1]:
                rows.append(r)
                cols.append(int(c))
                vals.append(1.0)
            rows.append(r)
            cols.append(int(line[-1]))
            vals.append(-1.0)
            r += 1
    return sparse.csr_matrix((vals, (rows, cols)), shape=(r, n))


def round_half_up(v: npt.NDArray[np.int64], base: int) -> npt.NDArray[np.int64]:
    """Round to the nearest ``base``, halves up."""
    return ((v + base // 2) // base) * base


def grid_space(
    inner: npt.ArrayLike,
    *,
    threshold: int = 10,
    rounding: int = 0,
    structural_zero: npt.ArrayLike | None = None,
    protection_width: float | None = None,
) -> CellSpace:
    """A margined grid under a threshold policy (see module docstring)."""
    full = with_margins(np.asarray(inner, dtype=np.int64))
    shape = full.shape
    v = full.reshape(-1)
    n = v.size
    sz = np.zeros(n, dtype=bool)
    if structural_zero is not None:
        # a margin is a structural zero when every cell it adds up is one
        sz_inner = np.asarray(structural_zero, dtype=bool)
        sz = (with_margins((~sz_inner).astype(np.int64)) == 0).reshape(-1)
        assert (v[sz] == 0).all()
    primary = (v < threshold) & ~sz
    if rounding:
        r = round_half_up(v, rounding)
        half = rounding // 2
        pub_lo = np.maximum(r - half, threshold).astype(float)
        pub_hi = (r + half).astype(float)
    else:
        pub_lo = v.astype(float)
        pub_hi = v.astype(float)
    pub_lo = np.minimum(pub_lo, v)  # cells below threshold are never published anyway
    pub_hi = np.maximum(pub_hi, v)
    n_total_axes = np.indices(shape) == (np.array(shape) - 1).reshape((-1,) + (1,) * len(shape))
    margin_level = n_total_axes.sum(axis=0).reshape(-1)
    labels = tuple(
        "(" + ", ".join("T" if i == s - 1 else str(i) for i, s in zip(ix, shape, strict=True)) + ")"
        for ix in itertools.product(*(range(s) for s in shape))
    )
    return CellSpace(
        values=v,
        relations=grid_relations(shape),
        published_lower=pub_lo,
        published_upper=pub_hi,
        suppressed_lower=np.zeros(n),
        suppressed_upper=np.full(n, np.inf),
        primary=primary,
        structural_zero=sz,
        protection_width=np.full(n, float(protection_width or threshold)),
        cost=(v + 1.0) * (1.0 + margin_level),
        labels=labels,
    )


def _propagate(
    space: CellSpace, lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Shrink integer bounds by interval arithmetic on each relation (keeps every solution)."""
    lo, hi = lo.copy(), hi.copy()
    a = space.relations.toarray()
    for _ in range(20):
        before = (lo.copy(), hi.copy())
        for row in a:
            nz = np.flatnonzero(row)
            for j in nz:
                others = nz[nz != j]
                c = row[others] / -row[j]
                # x_j = sum(c_k x_k)
                low = np.where(c > 0, c * lo[others], c * hi[others])
                high = np.where(c > 0, c * hi[others], c * lo[others])
                s_low, s_high = float(low.sum()), float(high.sum())
                if math.isfinite(s_low):
                    lo[j] = max(lo[j], math.ceil(s_low - 1e-9))
                if math.isfinite(s_high):
                    hi[j] = min(hi[j], math.floor(s_high + 1e-9))
        if np.array_equal(before[0], lo) and np.array_equal(before[1], hi):
            break
    return lo, hi


def brute_force_grid_intervals(
    inner_shape: tuple[int, ...],
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    max_tables: int = 3_000_000,
) -> dict[int, tuple[int, int]] | None:
    """Integer min/max of each suppressed cell over every consistent integer table.

    For a ``grid_space``: enumerates every integer choice of the inner cells within the
    attacker's bounds (an inner cell is also at most the upper bound of each margin containing
    it), derives the margins by summing, keeps the tables whose every cell lies within the
    attacker's bounds, and takes min/max per suppressed cell. No LP involved. Returns ``None``
    when more than ``max_tables`` tables would have to be enumerated.
    """
    lo, hi = _propagate(space, *space.attacker_bounds(suppressed))
    full_shape = tuple(s + 1 for s in inner_shape)
    lo_f = lo.reshape(full_shape)
    hi_f = hi.reshape(full_shape)
    ranges = []
    for ix in itertools.product(*(range(s) for s in inner_shape)):
        ub = math.inf
        for mask in itertools.product(*((i, s) for i, s in zip(ix, inner_shape, strict=True))):
            ub = min(ub, hi_f[mask])
        assert math.isfinite(ub), "every inner cell must be bounded by some published margin"
        ranges.append(np.arange(math.ceil(lo_f[ix]), math.floor(ub) + 1))
    if math.prod(len(r) for r in ranges) > max_tables:
        return None
    grids = np.meshgrid(*ranges, indexing="ij")
    inner = np.stack([g.reshape(-1) for g in grids], axis=1).reshape(-1, *inner_shape)
    full = inner
    for axis in range(1, full.ndim):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    flat = full.reshape(full.shape[0], -1)
    lo0, hi0 = space.attacker_bounds(suppressed)
    ok = ((flat >= lo0 - 1e-9) & (flat <= hi0 + 1e-9)).all(axis=1)
    assert ok.any(), "the true table must be consistent"
    flat = flat[ok]
    return {
        int(i): (int(flat[:, i].min()), int(flat[:, i].max())) for i in np.flatnonzero(suppressed)
    }


def linprog_intervals(
    space: CellSpace, suppressed: npt.NDArray[np.bool_]
) -> dict[int, tuple[float, float]]:
    """LP min/max of each suppressed cell with scipy's ``linprog`` on the whole space."""
    lo, hi = space.attacker_bounds(suppressed)
    n = space.n_cells
    bounds = [(float(lo[i]), None if math.isinf(hi[i]) else float(hi[i])) for i in range(n)]
    a = space.relations.toarray()
    g = None if space.inequalities is None else space.inequalities.toarray()
    out: dict[int, tuple[float, float]] = {}
    for i in np.flatnonzero(suppressed):
        c = np.zeros(n)
        c[i] = 1.0
        kw = {"A_eq": a, "b_eq": np.zeros(a.shape[0]), "bounds": bounds, "method": "highs"}
        if g is not None:
            kw.update(A_ub=g, b_ub=np.zeros(g.shape[0]))
        rmin = linprog(c, **kw)
        rmax = linprog(-c, **kw)
        mx = math.inf if rmax.status == 3 else -rmax.fun
        out[int(i)] = (float(rmin.fun), float(mx))
    return out
