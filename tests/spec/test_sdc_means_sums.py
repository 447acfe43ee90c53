"""Spec: published sums and means are read with the counts (docs/disclosure-control.md,
"Derived statistics": means and sums).

Each rule is a small inline table (``sdap``: threshold 10, no rounding, zeros suppressed) with
an attack by an attacker written apart from iaptkit's audit (``tests/measures_sums_attacker.py``)
that succeeds on what an unguarded protection published and fails on what
``protect_measures`` publishes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from measures_sums_attacker import narrowed
from scipy import sparse

from iaptkit.sdc import protect_measures
from iaptkit.sdc.integer_attack import StatisticFamily, integer_intervals
from iaptkit.sdc.means_audit import mean_values

PERIOD = ("2023-04-01", "2024-03-31")
#: (breakdown, group, finished courses, their sessions): C's 3 courses are suppressed
GROUPS = (
    ("england", "England", 43, 330),
    ("provider", "A", 20, 160),
    ("provider", "B", 20, 150),
    ("provider", "C", 3, 20),
)


def _table(means: bool) -> pd.DataFrame:
    rows = []
    for b, g, x, s in GROUPS:
        rows.append((b, g, "finished_treatment", x, "count", None))
        rows.append((b, g, "sum_sessions_finished", s, "count", None))
        if means:
            rows.append((b, g, "mean_sessions_finished", s / x, "mean", "finished_treatment"))
    return pd.DataFrame(
        [
            dict(
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                breakdown=b,
                group=g,
                measure=m,
                value=v,
                kind=k,
                numerator=None,
                denominator=d,
            )
            for b, g, m, v, k, d in rows
        ]
    )


def _truth() -> pd.DataFrame:
    return pd.DataFrame([{"breakdown": b, "group": g, "true_value": x} for b, g, x, _ in GROUPS])


def _export(pm: object) -> pd.DataFrame:
    cells = pm.cells  # type: ignore[attr-defined]
    return cells[["breakdown", "group", "measure", "display"]].rename(columns={"display": "value"})


def _shown(export: pd.DataFrame, group: str, measure: str) -> str:
    row = export[(export["group"] == group) & (export["measure"] == measure)]
    return str(row["value"].iloc[0])


def test_a_sum_of_sessions_beside_a_suppressed_course_count_is_guarded() -> None:
    # unguarded: the courses protected as counts alone, every sum of sessions published
    before = _table(means=False).rename(columns={"value": "true"})
    before["value"] = before["true"].astype(str)
    before.loc[(before["group"].isin(["B", "C"])) & (before["measure"] == "finished_treatment"),
               "value"] = "*"  # fmt: skip
    found = narrowed(before, _truth(), 1, 10, 10)
    # C's 20 sessions: at most 10 courses (2 sessions each) and at least 1
    assert [(g, lo_hi) for g, _, lo_hi in found] == [(("provider", "C"), [1.0, 10.0])]

    after = _export(protect_measures(_table(means=False), "sdap"))
    assert narrowed(after, _truth(), 1, 10, 10) == []
    assert _shown(after, "C", "finished_treatment") == "*"
    assert _shown(after, "C", "sum_sessions_finished") == "*"
    # England's figures are published as they are (sdap does not round)
    assert _shown(after, "England", "finished_treatment") == "43"
    assert _shown(after, "England", "sum_sessions_finished") == "330"


def test_a_mean_that_gives_a_suppressed_groups_sessions_away_is_withheld() -> None:
    pm = protect_measures(_table(means=True), "sdap")
    after = _export(pm)
    assert narrowed(after, _truth(), 1, 10, 10) == []
    # B's mean (7.5 of 20 courses: 149..151 sessions) with England's 330 and A's 160 would
    # leave C 19..21 sessions, so 1..10 courses
    assert _shown(after, "B", "mean_sessions_finished") == "*"
    reason = pm.cells.set_index(["group", "measure"]).loc[("B", "mean_sessions_finished"), "reason"]
    assert str(reason).startswith("withheld")
    assert _shown(after, "England", "mean_sessions_finished") == "7.7"
    before = after.copy()
    before.loc[(before["group"] == "B") & (before["measure"] == "mean_sessions_finished"),
               "value"] = "7.5"  # fmt: skip
    found = narrowed(before, _truth(), 1, 10, 10)
    assert [(g, lo_hi) for g, _, lo_hi in found] == [(("provider", "C"), [1.0, 10.0])]


def test_the_attackers_model_of_a_sum() -> None:
    # cells: England courses (published 10), A and B (suppressed), A's sessions (published 4)
    rel = sparse.csr_matrix([[-1.0, 1.0, 1.0, 0.0]])
    lower = np.array([10.0, 0.0, 0.0, 4.0])
    upper = np.array([10.0, np.inf, np.inf, 4.0])
    targets = np.array([False, True, True, False])
    fam = StatisticFamily(
        counts=(0, 1, 2),
        relations=({0: -1.0, 1: 1.0, 2: 1.0},),
        value_min=2.0,
        value_max=1000.0,
        sums=((1, 3),),
        every_member=True,
    )
    lo, hi = integer_intervals(rel, None, lower, upper, targets)
    assert (lo[1], hi[1]) == (0.0, 10.0)
    lo, hi = integer_intervals(rel, None, lower, upper, targets, families=[fam])
    # 4 sessions: 1 or 2 courses at A, so 8 or 9 at B
    assert (lo[1], hi[1], lo[2], hi[2]) == (1.0, 2.0, 8.0, 9.0)
    # a mean of 5.0 for England (10 courses: 49.5..50.5 sessions, so 50): B has 46, 23 at most
    mean = StatisticFamily((0, 1, 2), fam.relations, 2.0, 1000.0, ((0, 4.95, 5.05),), (),
                           True)  # fmt: skip
    lo, hi = integer_intervals(rel, None, lower, upper, targets, families=[fam, mean])
    assert (lo[1], hi[1], lo[2], hi[2]) == (1.0, 2.0, 8.0, 9.0)


def test_what_the_attacker_knows_of_the_values_behind_a_mean() -> None:
    waits = mean_values("mean_wait_entered")
    assert (waits.low, waits.every_member, waits.sum_measure) == (0.0, False, None)
    assert mean_values("mean_cbt_sessions").low == 1.0  # counted only where positive
    assert mean_values("mean_wsas_work_first").high == 8.0
    sessions = mean_values("mean_sessions_finished")
    assert (sessions.low, sessions.every_member) == (2.0, True)
    assert sessions.sum_measure == "sum_sessions_finished"


def test_means_linked_to_too_many_counts_are_withheld_not_published_unaudited(
    monkeypatch: object,
) -> None:
    import iaptkit.sdc.means_audit as means_audit

    # the limit lowered to 5 counts: this table's 8 linked counts are too many to audit
    monkeypatch.setattr(means_audit, "MAX_LINKED_COUNTS", 5)  # type: ignore[attr-defined]
    pm = protect_measures(_table(means=True), "sdap")
    means = pm.cells[pm.cells["measure"] == "mean_sessions_finished"]
    assert (means["display"] == "*").all()
    too_many = means["reason"].str.contains("too many counts to audit")
    # every mean not hidden with its count is withheld as too large to audit
    assert (too_many | (means["reason"] == "contributor count suppressed")).all()
    assert too_many.sum() >= 2
    # the counts are protected as before
    assert narrowed(_export(pm), _truth(), 1, 10, 10) == []
    assert _shown(_export(pm), "England", "finished_treatment") == "43"
