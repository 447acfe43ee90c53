"""The integer attack asks HiGHS again without presolve when presolve says infeasible."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import OptimizeResult

import iaptkit.sdc.integer_attack as ia


def test_a_presolve_infeasible_verdict_is_checked_without_presolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ia.milp
    calls: list[bool] = []

    def flaky(c: Any, **kw: Any) -> Any:  # presolve wrongly says infeasible (as HiGHS did)
        presolve = (kw.get("options") or {}).get("presolve", True)
        calls.append(presolve)
        if presolve:
            return OptimizeResult(x=None, status=2, fun=None, message="infeasible")
        return real(c, **kw)

    monkeypatch.setattr(ia, "milp", flaky)
    # 10 = a + b, b published as 7: a = 3
    rel = sparse.csr_matrix(np.array([[1.0, 1.0, -1.0]]))
    lower, upper = np.array([0.0, 7.0, 10.0]), np.array([np.inf, 7.0, 10.0])
    lo, hi = ia.integer_intervals(rel, None, lower, upper, np.array([True, False, False]))
    assert (lo[0], hi[0]) == (3.0, 3.0)
    assert calls.count(False) == 2  # each end asked again


def test_a_truly_infeasible_release_is_still_refused() -> None:
    rel = sparse.csr_matrix(np.array([[1.0, 1.0, -1.0]]))
    lower, upper = np.array([0.0, 12.0, 10.0]), np.array([np.inf, 12.0, 10.0])
    with pytest.raises(ValueError, match="inconsistent"):
        ia.integer_intervals(rel, None, lower, upper, np.array([True, False, False]))
