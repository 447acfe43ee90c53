"""An independent attacker of a protected measures table: courses, their sessions, the means.

Written apart from iaptkit's audit (``iaptkit.sdc.means_audit``), from what the exported table
shows and what anyone knows of IAPT courses:

* ``finished_treatment`` and ``sum_sessions_finished`` as shown: a shown count ``v`` (rounding
  base ``b``, threshold ``t``) is in ``[v - b/2, v + b/2)``, and is 0 or at least ``t``;
  ``*`` is any whole number >= 0;
* every finished course has at least 2 sessions and fewer than 1,000, so a group's sessions
  ``s`` and courses ``x`` satisfy ``2 x <= s <= 1000 x``; ``sum_sessions_finished`` is ``s``;
* ``mean_sessions_finished`` shown as ``m`` (one decimal) puts ``s`` in ``x (m +- 0.05)``;
* providers add up to England and a provider's ``provider x age_band`` rows to the provider,
  for courses and sessions alike (where the true courses add up).

Each suppressed course count's whole-number interval is the optimum of a MILP (scipy, HiGHS).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

BIG = 1e9


def shown_box(shown: str, base: int, threshold: int) -> tuple[float, float]:
    """What a shown count says of it: its rounding box, and 0 or at least the threshold."""
    v = float(shown)
    if v == 0 or base <= 1:
        return v, v
    lo, hi = max(math.ceil(v - base / 2), 0), math.ceil(v + base / 2) - 1
    return float(max(lo, threshold)), float(hi)


def narrowed(
    export: pd.DataFrame, truth: pd.DataFrame, base: int, threshold: int, width: float
) -> list[tuple[tuple[str, str], float, list[float]]]:
    """Suppressed ``finished_treatment`` cells narrower than they need.

    ``export``: ``breakdown, group, measure, value`` (text, ``*`` where suppressed);
    ``truth``: ``breakdown, group, true_value`` of ``finished_treatment``. A true count below
    the threshold needs ``width``, any other suppressed count 1.
    """
    groups = sorted(set(zip(export["breakdown"], export["group"], strict=True)))
    idx = {g: k for k, g in enumerate(groups)}
    n = len(groups)
    nv = 2 * n  # x (courses) then s (sessions), per group
    lo, hi = np.zeros(nv), np.full(nv, BIG)
    rows: list[np.ndarray] = []
    lb: list[float] = []
    ub: list[float] = []

    def add_row(coef: dict[int, float], low: float, high: float) -> None:
        r = np.zeros(nv)
        for j, a in coef.items():
            r[j] += a
        rows.append(r)
        lb.append(low)
        ub.append(high)

    shown = {
        (b, g, m): str(v)
        for b, g, m, v in zip(
            export["breakdown"], export["group"], export["measure"], export["value"], strict=True
        )
    }
    for g, k in idx.items():
        x, s = k, n + k
        f = shown.get((*g, "finished_treatment"), "*")
        if f != "*":
            lo[x], hi[x] = shown_box(f, base, threshold)
        t = shown.get((*g, "sum_sessions_finished"), "*")
        if t != "*":
            lo[s], hi[s] = shown_box(t, base, threshold)
        m = shown.get((*g, "mean_sessions_finished"), "*")
        if m not in ("*", "", "nan"):
            add_row({s: 1.0, x: -(float(m) - 0.05)}, 0.0, np.inf)
            add_row({s: 1.0, x: -(float(m) + 0.05)}, -np.inf, 0.0)
        add_row({s: 1.0, x: -2.0}, 0.0, np.inf)
        add_row({s: 1.0, x: -1000.0}, -np.inf, 0.0)
    true = {
        (b, g): float(v)
        for b, g, v in zip(truth["breakdown"], truth["group"], truth["true_value"], strict=True)
    }

    def adds_up(total: tuple[str, str], parts: list[tuple[str, str]]) -> None:
        if total not in idx or not parts:
            return
        if abs(sum(true[p] for p in parts) - true[total]) > 1e-9:
            return
        for off in (0, n):
            coef = {off + idx[p]: 1.0 for p in parts}
            coef[off + idx[total]] = -1.0
            add_row(coef, 0.0, 0.0)

    providers = [g for b, g in groups if b == "provider"]
    adds_up(("england", "England"), [("provider", p) for p in providers])
    for p in providers:
        inner = [(b, g) for b, g in groups if b == "provider x age_band" and g.split(" | ")[0] == p]
        adds_up(("provider", p), inner)
    cons = [LinearConstraint(np.array(rows), lb, ub)]
    found = []
    for g, k in idx.items():
        if shown.get((*g, "finished_treatment")) != "*":
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(nv)
            c[k] = sign
            res = milp(c, constraints=cons, integrality=np.ones(nv), bounds=Bounds(lo, hi))
            assert res.status == 0, f"{g}: {res.message}"
            ends.append(sign * float(res.fun))
        need = width if true[g] < threshold else 1.0
        if ends[1] - ends[0] < need - 1e-9:
            found.append((g, true[g], ends))
    return found
