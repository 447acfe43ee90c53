"""Spec: sums of sessions and means over two overlapping periods (issue 16, periods and means).

April-March and May-March published together give April by difference, for the courses and
for their sessions alike; every finished course has at least 2 sessions, so April's sessions
bound April's courses (``2 x courses <= sessions``). Each test releases two ``protect_measures``
outputs (``sdap``: threshold and width 10, no rounding), each safe alone, builds the release,
and attacks the export with an attacker written here (``scipy.optimize.milp``): the courses
and sessions of both periods and of April, the periods adding up, the bound on every course
count including April's, each shown mean at its printed precision. The attack succeeds on what
the counts' audit alone would have published (by hand) and fails on the export.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from iaptkit.release import Release, build, verify
from iaptkit.release.cellkeys import OutputCells
from iaptkit.release.jointaudit import joint_attack
from iaptkit.release.relations import joint_system
from iaptkit.sdc import protect_measures

FY = ("2024-04-01", "2025-03-31")
MAY = ("2024-05-01", "2025-03-31")
WIDTH = 10
F, S, M = "finished_treatment", "sum_sessions_finished", "mean_sessions_finished"


def _table(period: tuple[str, str], rows: dict[str, float]) -> pd.DataFrame:
    out = []
    for measure, value in rows.items():
        kind = "mean" if measure == M else "count"
        out.append(
            {
                "period_start": period[0],
                "period_end": period[1],
                "breakdown": "england",
                "group": "England",
                "measure": measure,
                "value": value,
                "kind": kind,
                "numerator": None,
                "denominator": F if kind == "mean" else None,
            }
        )
    return pd.DataFrame(out)


def _release(tmp: Path, year: dict[str, float], may: dict[str, float]) -> Path:
    rel = Release.open_or_create(tmp / "rel")
    for name, period, rows in (("year", FY, year), ("may", MAY, may)):
        out = rel.add_table(protect_measures(_table(period, rows), "sdap"), name=name)
        assert out.status == "pass", out.reasons
    return rel.path


def _shown(folder: Path) -> dict[tuple[str, str], str]:
    shown = {}
    for name, period in (("year", FY), ("may", MAY)):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for r in frame.to_dict("records"):
            shown[(period[0], r["measure"])] = r["value"]
    return shown


def _attack(
    shown: dict[tuple[str, str], str], april_courses: int
) -> dict[str, tuple[float, float]]:
    """Courses narrower than they need: the year's and May-March's if suppressed, and April's."""
    # variables: courses and sessions of the year, of May-March, of April
    names = ["f_year", "f_may", "f_apr", "s_year", "s_may", "s_apr"]
    ix = {n: k for k, n in enumerate(names)}
    lo, hi = np.zeros(6), np.full(6, 1e6)
    for period, f, s in ((FY[0], "f_year", "s_year"), (MAY[0], "f_may", "s_may")):
        for measure, var in ((F, f), (S, s)):
            text = shown.get((period, measure), "*")
            if text != "*":
                lo[ix[var]] = hi[ix[var]] = float(text)
    rows, lb, ub = [], [], []

    def add(coef: dict[str, float], low: float, high: float) -> None:
        r = np.zeros(6)
        for n, a in coef.items():
            r[ix[n]] += a
        rows.append(r)
        lb.append(low)
        ub.append(high)

    add({"f_year": 1, "f_may": -1, "f_apr": -1}, 0, 0)
    add({"s_year": 1, "s_may": -1, "s_apr": -1}, 0, 0)
    for f, s in (("f_year", "s_year"), ("f_may", "s_may"), ("f_apr", "s_apr")):
        add({s: 1, f: -2}, 0, np.inf)  # at least 2 sessions a course
        add({s: 1, f: -1000}, -np.inf, 0)
    for period, f, s in ((FY[0], "f_year", "s_year"), (MAY[0], "f_may", "s_may")):
        text = shown.get((period, M), "*")
        if text not in ("*", ""):
            m = float(text)
            add({s: 1, f: -(m - 0.05)}, 0, np.inf)
            add({s: 1, f: -(m + 0.05)}, -np.inf, 0)
    cons = [LinearConstraint(np.array(rows), lb, ub)]
    found = {}
    targets = [n for n in ("f_year", "f_may") if lo[ix[n]] != hi[ix[n]]] + ["f_apr"]
    for n in targets:
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(6)
            c[ix[n]] = sign
            res = milp(c, constraints=cons, integrality=np.ones(6), bounds=Bounds(lo, hi))
            assert res.status == 0, res.message
            ends.append(sign * float(res.fun))
        need = WIDTH if n == "f_apr" and april_courses < WIDTH else 1.0
        if ends[1] - ends[0] < need - 1e-9:
            found[n] = (ends[0], ends[1])
    return found


def test_april_sessions_bound_april_courses(tmp_path: Path) -> None:
    # April: 3 courses and 12 sessions (30 and 208 in the year, 27 and 196 from May); 12 is
    # not a small count, but it says 1 to 6 courses
    rel = _release(tmp_path, {F: 30, S: 208}, {F: 27, S: 196})
    # the counts' audit alone hid only the year's courses (April's 3 follow by subtraction)
    before = _shown(rel / "outputs")
    before[(FY[0], F)] = "*"
    assert _attack(before, 3) == {"f_apr": (1.0, 6.0)}
    on = build(rel, tmp_path / "on")
    assert not on.excluded
    assert verify(tmp_path / "on", allow_unsigned=True) == []
    after = _shown(tmp_path / "on")
    assert _attack(after, 3) == {}
    hidden = {k for k, v in after.items() if v == "*"}
    assert hidden & {(FY[0], S), (MAY[0], S)}  # a sum of sessions is hidden as well


def test_a_mean_and_a_sum_over_two_periods_bound_april(tmp_path: Path) -> None:
    # the year: 30 courses with a mean of 6.9 sessions (205.5..208.5, so 206 to 208);
    # May-March: 27 courses and 196 sessions published as a sum; April 10 to 12 sessions
    rel = _release(tmp_path, {F: 30, M: 208 / 30}, {F: 27, S: 196})
    shown = _shown(rel / "outputs")
    assert shown[(FY[0], M)] == "6.9"
    # with May-March's courses hidden, the year's mean and May's sum give April's sessions
    shown[(MAY[0], F)] = "*"
    assert _attack(shown, 3) == {"f_apr": (1.0, 6.0)}
    # the joint audit's own model of the release reads the same
    inside = [
        OutputCells.from_json(json.loads(p.read_text()))
        for p in sorted((rel / "internal").glob("*.cellkeys.json"))
    ]
    system = joint_system(inside)
    may_courses = next(
        i for i, k in enumerate(system.keys)
        if k.measure == F and k.period_start == MAY[0] and not system.latent[i]
    )  # fmt: skip
    april = next(
        i for i, k in enumerate(system.keys)
        if k.measure == F and k.period_end == "2024-04-30" and system.latent[i]
    )  # fmt: skip
    hidden = np.zeros(system.n, dtype=bool)
    hidden[may_courses] = True
    targets = hidden.copy()
    targets[april] = True
    lo, hi = joint_attack(system, hidden, targets)
    assert (lo[april], hi[april]) == (1.0, 6.0)
    # and the build protects it
    on = build(rel, tmp_path / "on")
    assert not on.excluded
    assert verify(tmp_path / "on", allow_unsigned=True) == []
    assert _attack(_shown(tmp_path / "on"), 3) == {}


def test_means_of_a_waiting_list_are_not_split_into_segments() -> None:
    from iaptkit.sdc.means_audit import mean_values

    # a stock at the period end is not a sum over the period: no segment sums for it
    assert mean_values("mean_wait_so_far_waiting_for_treatment").over_time is False
    assert mean_values("mean_sessions_finished").over_time is True
    assert math.isclose(mean_values("mean_wait_entered").low, 0.0)
