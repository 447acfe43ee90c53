"""The attack's local-LP pre-pass runs only in connected parts above PREPASS_ABOVE cells."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from iaptkit.sdc import attack as attack_module
from iaptkit.sdc.attack import attack
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.intervals import required_width


def _table_space(rng: np.random.Generator, r: int = 5, c: int = 5) -> CellSpace:
    """An r x c table with row, column and grand totals, no grid (relations only)."""
    inner = rng.integers(0, 30, size=(r, c))
    values = np.array([*inner.ravel(), *inner.sum(1), *inner.sum(0), inner.sum()])
    n = values.size
    rows = []
    for i in range(r):
        row = np.zeros(n)
        row[i * c : (i + 1) * c] = 1
        row[r * c + i] = -1
        rows.append(row)
    for j in range(c):
        row = np.zeros(n)
        row[[i * c + j for i in range(r)]] = 1
        row[r * c + r + j] = -1
        rows.append(row)
    v = values.astype(float)
    return CellSpace(values, sparse.csr_matrix(np.array(rows)), v, v, np.zeros(n),
                     np.full(n, np.inf), values < 10, np.zeros(n, bool), np.full(n, 10.0),
                     v)  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_prepass_only_above_the_size_and_the_same_verdicts(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    space = _table_space(rng)
    sup = space.primary | (rng.random(space.n_cells) < 0.3)
    need = required_width(space)
    whole = attack(space, sup, sufficient=True)  # 36 cells: below PREPASS_ABOVE
    assert whole.n_local_lp == 0
    monkeypatch.setattr(attack_module, "PREPASS_ABOVE", 10)
    local = attack(space, sup, sufficient=True)
    assert local.n_local_lp > 0
    for res in (whole, local):  # the same verdict for every suppressed cell
        assert np.all(res.lower[sup] <= space.values[sup])
        assert np.all(res.upper[sup] >= space.values[sup])
    ok_whole = whole.upper[sup] - whole.lower[sup] >= need[sup] - 1e-9
    ok_local = local.upper[sup] - local.lower[sup] >= need[sup] - 1e-9
    assert ok_whole.tolist() == ok_local.tolist()
