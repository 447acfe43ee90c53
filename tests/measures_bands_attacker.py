"""An independent attacker of a protected measures table: wait bands, their total, the median.

Written apart from iaptkit's audit (``iaptkit.sdc.measure_relations``,
``iaptkit.sdc.median_relations``), from what the exported table shows and the NHS definitions
of family 1:

* every pathway entering treatment with a wait of whole days >= 0 is in exactly one of the four
  bands (0-28, 29-56, 57-90, over 90 days), so the bands add up to ``entered_treatment``
  (taken where the true counts do);
* providers add up to England and a provider's ``provider x age_band`` rows to the provider;
* a shown count ``v`` (rounding base ``b``, threshold ``t``) is in ``[v - b/2, v + b/2)`` and is
  0 or at least ``t``; ``*`` is any whole number >= 0;
* ``median_wait_entered`` shown as ``m`` (one decimal): the median of whole days is a multiple
  of 0.5 in ``[m - 0.05, m + 0.05]``; at least half of the pathways lie at or below it (in a
  band starting at or below it) and at least half at or above it (in a band ending at or above
  it).

Each suppressed band or total's whole-number interval is the optimum of a MILP (scipy, HiGHS).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from measures_sums_attacker import shown_box
from scipy.optimize import Bounds, LinearConstraint, milp

BANDS = (
    ("entered_wait_le_28_days", 0, 28),
    ("entered_wait_29_to_56_days", 29, 56),
    ("entered_wait_57_to_90_days", 57, 90),
    ("entered_wait_over_90_days", 91, math.inf),
)
TOTAL = "entered_treatment"
MEDIAN = "median_wait_entered"
BIG = 1e9


def narrowed(
    cells: pd.DataFrame, base: int, threshold: int, width: float
) -> list[tuple[tuple[str, str, str], float, list[float]]]:
    """Suppressed bands and totals narrower than they need: ``(group key, truth, [lo, hi])``.

    ``cells``: ``breakdown, group, measure, display, true_value`` (``*`` where suppressed).
    """
    names = [TOTAL, *(b for b, _, _ in BANDS)]
    rows_ = cells[cells["measure"].isin([*names, MEDIAN])]
    groups = sorted(set(zip(rows_["breakdown"], rows_["group"], strict=True)))
    shown = {
        (b, g, m): str(v)
        for b, g, m, v in zip(
            rows_["breakdown"], rows_["group"], rows_["measure"], rows_["display"], strict=True
        )
    }
    true = {
        (b, g, m): float(v)
        for b, g, m, v in zip(
            rows_["breakdown"], rows_["group"], rows_["measure"], rows_["true_value"], strict=True
        )
        if m in names
    }
    var = {(b, g, m): k for k, (b, g, m) in enumerate((*g, m) for g in groups for m in names)}
    nv = len(var)
    lo, hi = np.zeros(nv), np.full(nv, BIG)
    rows: list[np.ndarray] = []
    lb: list[float] = []
    ub: list[float] = []

    def add(coef: dict[int, float], low: float, high: float) -> None:
        r = np.zeros(nv)
        for j, a in coef.items():
            r[j] += a
        rows.append(r)
        lb.append(low)
        ub.append(high)

    def holds(total: tuple[str, str, str], parts: list[tuple[str, str, str]]) -> bool:
        return all(k in true for k in (total, *parts)) and (
            abs(sum(true[p] for p in parts) - true[total]) < 1e-9
        )

    for key, k in var.items():
        text = shown.get(key, "*")
        if text != "*":
            lo[k], hi[k] = shown_box(text, base, threshold)
    for b, g in groups:
        parts = [(b, g, name) for name, _, _ in BANDS]
        if holds((b, g, TOTAL), parts):
            add({var[(b, g, TOTAL)]: -1.0, **{var[p]: 1.0 for p in parts}}, 0.0, 0.0)
        m = shown.get((b, g, MEDIAN), "*")
        if m in ("*", "", "nan"):
            continue
        v = float(m)
        candidates = [
            h / 2 for h in range(math.ceil(2 * (v - 0.05)), math.floor(2 * (v + 0.05)) + 1)
        ]
        if len(candidates) != 1:
            continue  # several medians print alike: not read here
        med = candidates[0]
        below = {var[(b, g, n)]: 1.0 for n, first, _ in BANDS if first <= med}
        above = {var[(b, g, n)]: 1.0 for n, _, last in BANDS if last >= med}
        for side in (below, above):
            add({**side, var[(b, g, TOTAL)]: -0.5}, 0.0, np.inf)
    providers = [g for b, g in groups if b == "provider"]
    for name in names:
        parts = [("provider", p, name) for p in providers]
        if holds(("england", "England", name), parts):
            add({var[("england", "England", name)]: -1.0, **{var[p]: 1.0 for p in parts}}, 0, 0)
        for p in providers:
            inner = [
                (b, g, name)
                for b, g in groups
                if b == "provider x age_band" and g.split(" | ")[0] == p
            ]
            if inner and holds(("provider", p, name), inner):
                add({var[("provider", p, name)]: -1.0, **{var[i]: 1.0 for i in inner}}, 0, 0)
    cons = [LinearConstraint(np.array(rows), lb, ub)]
    found = []
    for key, k in var.items():
        if shown.get(key) != "*":
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(nv)
            c[k] = sign
            res = milp(c, constraints=cons, integrality=np.ones(nv), bounds=Bounds(lo, hi))
            assert res.status == 0, f"{key}: {res.message}"
            ends.append(sign * float(res.fun))
        need = width if true[key] < threshold else 1.0
        if ends[1] - ends[0] < need - 1e-9:
            found.append((key, true[key], ends))
    return found
