"""What ``auto`` secondary suppression chooses (iaptkit.sdc.auto_method), and that it is used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iaptkit.sdc import protect
from iaptkit.sdc.auto_method import (
    AUTO_BUDGET,
    LP_UP_TO,
    MODULAR_SECONDS_PER_PRIMARY,
    TIMEOUT_SHARE,
    choose_method,
)


def test_small_or_gridless_spaces_use_lp() -> None:
    assert choose_method(LP_UP_TO, 10_000, True) == "lp"
    assert choose_method(50_000, 3, False) == "lp"


def test_modular_only_when_its_estimate_fits() -> None:
    fits = int(AUTO_BUDGET / MODULAR_SECONDS_PER_PRIMARY)
    assert choose_method(LP_UP_TO + 1, fits, True) == "modular"
    assert choose_method(LP_UP_TO + 1, fits + 1, True) == "hypercube"
    # with a timeout, the time left decides (not the default budget)
    need = MODULAR_SECONDS_PER_PRIMARY * 1584 / TIMEOUT_SHARE
    assert choose_method(8064, 1584, True, seconds_left=need + 1) == "modular"
    assert choose_method(8064, 1584, True, seconds_left=need - 1) == "hypercube"
    assert choose_method(8064, 10, True, seconds_left=0.0) == "hypercube"


def _grid(n_rows: int, n_cols: int, small: int, seed: int) -> pd.DataFrame:
    """An ``n_rows x n_cols`` count table with ``small`` counts under 10, the rest 20-80."""
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 80, size=n_rows * n_cols)
    n[rng.choice(n.size, size=small, replace=False)] = rng.integers(1, 10, size=small)
    return pd.DataFrame(
        {
            "r": np.repeat([f"r{i:02d}" for i in range(n_rows)], n_cols),
            "c": [f"c{j:02d}" for j in range(n_cols)] * n_rows,
            "n": n,
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize(("small", "expected"), [(12, "modular"), (260, "hypercube")])
def test_auto_runs_the_chosen_method(small: int, expected: str) -> None:
    """Above LP_UP_TO cells, auto's output is exactly that of the method chosen by name."""
    frame = _grid(48, 44, small, seed=small)  # 49 x 45 = 2,205 cells with margins
    auto = protect(frame, ["r", "c"], "n", policy="sdap")
    named = protect(frame, ["r", "c"], "n", policy="sdap", secondary=expected)
    assert len(auto.cells) > LP_UP_TO
    assert int(auto.info_loss["suppressed_primary"]) == small
    assert auto.certificate.passed
    assert auto.published_long().equals(named.published_long())
