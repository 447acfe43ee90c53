"""Hypothesis properties of secondary suppression + audit on random small 2-D/3-D tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import grid_space, linprog_intervals

from iaptkit.sdc.audit import audit
from iaptkit.sdc.secondary import secondary_suppression


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """A small table of skewed counts, some structural-zero cells, and a rounding base."""
    ndim = draw(st.sampled_from([2, 2, 3]))
    shape = tuple(draw(st.integers(2, 4 if ndim == 2 else 3)) for _ in range(ndim))
    size = int(np.prod(shape))
    counts = draw(
        st.lists(st.one_of(st.integers(0, 9), st.integers(10, 120)), min_size=size, max_size=size)
    )
    zeros = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    inner = np.array(counts, dtype=np.int64).reshape(shape)
    sz = np.array(zeros).reshape(shape) & (inner == 0)
    rounding = draw(st.sampled_from([0, 5]))
    return inner, sz, rounding


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables())
def test_secondary_suppression_protects_every_random_table(
    case: tuple[np.ndarray, np.ndarray, int],
) -> None:
    inner, sz, rounding = case
    space = grid_space(inner, threshold=10, rounding=rounding, structural_zero=sz)
    mask = secondary_suppression(space)
    # mask contains every primary, never a structural zero
    assert mask[space.primary].all()
    assert not (mask & space.structural_zero).any()
    # the audit passes, and every interval contains the truth
    cert = audit(space, mask)
    assert cert.passed, [c.reason for c in cert.failures()]
    for c in cert.intervals:
        assert c.lower <= space.values[c.index] <= c.upper
    # deterministic
    assert (secondary_suppression(space) == mask).all()


@settings(max_examples=15, deadline=None)
@given(tables())
def test_audit_intervals_equal_an_independent_lp(
    case: tuple[np.ndarray, np.ndarray, int],
) -> None:
    inner, sz, rounding = case
    space = grid_space(inner, threshold=10, rounding=rounding, structural_zero=sz)
    rng = np.random.default_rng(int(inner.sum()))
    sup = (space.primary | (rng.random(space.n_cells) < 0.3)) & ~space.structural_zero
    got = {c.index: (c.lower, c.upper) for c in audit(space, sup).intervals}
    for i, (lo, hi) in linprog_intervals(space, sup).items():
        assert got[i][0] == np.ceil(lo - 1e-7)
        assert got[i][1] == (np.floor(hi + 1e-7) if np.isfinite(hi) else np.inf)
