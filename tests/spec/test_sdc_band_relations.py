"""Spec: counts that split a cohort add up to it, and a median bounds its band counts
(docs/disclosure-control.md, "Derived statistics").

Each rule is a small inline table (``sdap``: threshold 10 and protection width 10, no
rounding) attacked by a whole-number attacker written here, apart from iaptkit's audit, from
what the table shows and the measures' definitions: the four NHS wait bands of those entering
treatment count each of them once (waits are whole days >= 0), and at least half of the
pathways behind a median lie at or below it and at least half at or above it. The attack
succeeds on what a protection that ignores the rule would publish, and fails on what
``protect_measures`` publishes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from iaptkit.sdc import protect_measures

PERIOD = ("2023-04-01", "2024-03-31")
BANDS = (
    ("entered_wait_le_28_days", 0, 28),
    ("entered_wait_29_to_56_days", 29, 56),
    ("entered_wait_57_to_90_days", 57, 90),
    ("entered_wait_over_90_days", 91, math.inf),
)
THRESHOLD = 10


def _table(total: int, bands: tuple[int, ...], median: float) -> pd.DataFrame:
    rows = [("entered_treatment", float(total), "count", None)]
    rows += [(name, float(v), "count", None) for (name, _, _), v in zip(BANDS, bands, strict=True)]
    rows.append(("median_wait_entered", median, "median", "entered_treatment"))
    return pd.DataFrame(
        [
            dict(
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                breakdown="england",
                group="England",
                measure=m,
                value=v,
                kind=k,
                numerator=None,
                denominator=d,
            )
            for m, v, k, d in rows
        ]
    )


def _attack(shown: dict[str, str], truth: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Suppressed counts (bands and total) narrower than they need: ``{measure: (lo, hi)}``."""
    names = ["entered_treatment", *(b for b, _, _ in BANDS)]
    n = len(names)
    lo, hi = np.zeros(n), np.full(n, 1e6)
    for k, name in enumerate(names):
        if shown[name] != "*":
            lo[k] = hi[k] = float(shown[name])
    rows, lb, ub = [[-1.0] + [1.0] * len(BANDS)], [0.0], [0.0]  # the bands add up
    median = shown["median_wait_entered"]
    if median != "*":
        m = float(median)  # whole days: a median is a multiple of 0.5 (one here)
        candidates = [
            k / 2 for k in range(math.ceil(2 * (m - 0.05)), math.floor(2 * (m + 0.05)) + 1)
        ]
        assert len(candidates) == 1
        med = candidates[0]
        below = [1.0 if first <= med else 0.0 for _, first, _ in BANDS]  # may hold values <= med
        above = [1.0 if last >= med else 0.0 for _, _, last in BANDS]  # may hold values >= med
        for side in (below, above):  # at least half of the total on each side
            rows.append([-0.5, *side])
            lb.append(0.0)
            ub.append(np.inf)
    cons = [LinearConstraint(np.array(rows), lb, ub)]
    found = {}
    for k, name in enumerate(names):
        if shown[name] != "*":
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[k] = sign
            res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(lo, hi))
            assert res.status == 0, res.message
            ends.append(sign * float(res.fun))
        need = 10.0 if truth[name] < THRESHOLD else 1.0
        if ends[1] - ends[0] < need - 1e-9:
            found[name] = (ends[0], ends[1])
    return found


def _shown(pm: object) -> dict[str, str]:
    cells = pm.cells  # type: ignore[attr-defined]
    return dict(zip(cells["measure"], cells["display"].astype(str), strict=True))


def _unguarded(table: pd.DataFrame) -> dict[str, str]:
    """Every count below the threshold starred, everything else as it is."""
    out = {}
    for m, v, k in zip(table["measure"], table["value"], table["kind"], strict=True):
        out[m] = ("*" if v < THRESHOLD else str(int(v))) if k == "count" else f"{v:.1f}"
    return out


def test_wait_bands_add_up_to_those_entering_treatment() -> None:
    # 16 entered treatment, 12 within 28 days: the other three bands hold 4 between them
    table = _table(16, (12, 2, 1, 1), 20.0)
    truth = dict(zip(table["measure"], table["value"].astype(int), strict=False))
    before = _unguarded(table)
    before["median_wait_entered"] = "*"
    assert _attack(before, truth) == {
        "entered_wait_29_to_56_days": (0.0, 4.0),
        "entered_wait_57_to_90_days": (0.0, 4.0),
        "entered_wait_over_90_days": (0.0, 4.0),
    }
    after = _shown(protect_measures(table, "sdap"))
    assert _attack(after, truth) == {}
    assert after["entered_wait_le_28_days"] == "12"  # the pattern hides the total instead
    assert after["entered_treatment"] == "*"


def test_a_median_beside_its_wait_bands_is_read_with_them() -> None:
    # 16 entered treatment, every band below 10; the median 35.0 lies in the second band
    table = _table(16, (5, 4, 4, 3), 35.0)
    truth = dict(zip(table["measure"], table["value"].astype(int), strict=False))
    before = _unguarded(table)
    assert before["entered_treatment"] == "16"
    assert before["median_wait_entered"] == "35.0"
    unread = dict(before, median_wait_entered="*")
    assert _attack(unread, truth) == {}  # the bands alone leave each 0..16
    # at least 8 at or above 35 days: at most 8 within 28 days; at least 8 at or below
    # 35 days: at most 8 over 56 days
    assert _attack(before, truth) == {
        "entered_wait_le_28_days": (0.0, 8.0),
        "entered_wait_57_to_90_days": (0.0, 8.0),
        "entered_wait_over_90_days": (0.0, 8.0),
    }
    pm = protect_measures(table, "sdap")
    after = _shown(pm)
    assert _attack(after, truth) == {}
    assert after["entered_treatment"] == "*"
    assert after["median_wait_entered"] == "*"


def test_a_median_that_bounds_nothing_narrow_is_published() -> None:
    # 40 entered treatment: half is 20, so no band below the threshold is narrowed
    table = _table(40, (25, 7, 5, 3), 26.0)
    truth = dict(zip(table["measure"], table["value"].astype(int), strict=False))
    after = _shown(protect_measures(table, "sdap"))
    assert _attack(after, truth) == {}
    assert after["median_wait_entered"] == "26.0"
    assert after["entered_treatment"] == "40"
    assert after["entered_wait_le_28_days"] == "25"
