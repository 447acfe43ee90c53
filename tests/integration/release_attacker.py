"""An independent attacker of exports, written apart from iaptkit's own relations and audit.

It reads what an output checker holds: each export's ``cellkeys.json`` (what every row
counts) and the exported CSV files (the value shown, ``*`` where suppressed), never the
export's ``joint`` relations. The true counts (the releases' ``internal/<uid>.cellkeys.json``)
serve only to give the attacker every sum that truly holds (the strongest attacker: one who
knows which outputs add up) and to say which width each suppressed cell needs.

What it knows, derived here by its own rules:

* a cell is the same cell in two outputs when it counts the same measure, period and
  breakdown of the same extract with the same true count (filters and labels ignored);
* a cell is the sum of its cells of any finer breakdown published (``a x b`` to ``a``, ``b``
  and the total), wherever that holds on the true counts (an absent row then reads as 0), when
  it has at least one such cell (a cell with none, the empty sum, is documented as not covered:
  docs/disclosure-control.md, "Linked outputs");
* periods: every period is the sum of the segments cut at all period ends (segments unknown,
  ``>= 0``), where the true counts allow such a split; a segment whose true count is small
  (1 to threshold - 1, or 0 where zeros are suppressed) needs the protection width;
* ``finished_treatment = at_caseness + not_at_caseness`` and ``part <= total`` for
  ``recovered <= at_caseness <= finished_treatment``;
* the NHS definitions' partitions of one cell, written here from the measure catalogue (not
  from iaptkit's list): the four wait bands of those entering treatment (and of first
  assessments) add up to their total, end codes and end-code groups to ``ended_referrals``,
  referral sources to ``referrals_received``, attendance outcomes and contact mechanisms to
  ``appointments``, stepped care, long-term condition and employment groups to
  ``finished_treatment``, waiting for treatment and in treatment to ``open_referrals``; each
  taken where it holds on the true counts; appointments by attendance are at most all
  appointments (codes outside the list are neither), as those waiting for assessment are at
  most the open referrals;
* a shown count ``v`` with rounding base ``b`` and threshold ``t`` is in ``[v - b/2, v + b/2)``
  (halves up), and is 0 or at least ``t``.

Each suppressed cell's whole-number interval comes from scipy's MILP (HiGHS) over its
connected part of the relations.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

BIG = 1e7

#: total -> the parts that partition it by definition: measure names, or prefixes ending in
#: "_" (every measure of the cell with that prefix), each list covering every case (invalid and
#: missing codes included). From docs/measures-catalogue (families 1-8). A list that does not
#: cover every case would add up only where the rest is truly 0, knowledge no attacker has.
PARTITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entered_treatment", ("entered_wait_le_28_days", "entered_wait_29_to_56_days",
                           "entered_wait_57_to_90_days", "entered_wait_over_90_days")),
    ("first_assessment", ("first_assessment_wait_le_28_days", "first_assessment_wait_29_to_56_days",
                          "first_assessment_wait_57_to_90_days",
                          "first_assessment_wait_over_90_days")),
    ("ended_referrals", ("ended_endcode_",)),
    ("ended_referrals", ("ended_group_",)),
    ("ended_referrals", ("ended_before_treatment", "ended_after_treatment")),
    ("ended_referrals", ("ended_not_seen", "ended_seen_not_treated", "ended_treated_once_or_more")),
    ("referrals_received", ("referrals_source_",)),
    ("appointments", ("appts_by_mechanism_",)),
    ("finished_treatment", ("stepped_care_",)),
    ("finished_treatment", ("finished_ltc", "finished_no_ltc", "finished_ltc_not_stated")),
    ("finished_treatment", ("finished_first_employment_",)),
    ("finished_treatment", ("finished_last_employment_",)),
    ("open_referrals", ("waiting_for_treatment", "open_in_treatment")),
)  # fmt: skip

#: total -> parts whose sum is at most the total, by definition.
SUBSETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("appointments", ("appts_cancelled_patient", "appts_dna", "appts_cancelled_provider",
                      "appts_attended", "appts_attended_late", "appts_late_not_seen")),
    ("open_referrals", ("waiting_for_assessment",)),
)  # fmt: skip


def _box(shown: str, base: int, threshold: int) -> tuple[float, float]:
    v = float(shown)
    if v == 0:
        return 0.0, 0.0
    if base <= 1:
        return v, v
    lo = max(math.ceil(v - base / 2), 0)
    hi = math.ceil(v + base / 2) - 1
    return float(max(lo, threshold)), float(hi)


class Attacker:
    """Cells, their boxes and relations; :meth:`narrow` lists the cells narrower than needed."""

    def __init__(self) -> None:
        self.ids: dict[tuple[Any, ...], int] = {}
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.truth: list[float | None] = []
        self.need: list[float] = []
        self.hidden: list[bool] = []
        self.label: list[str] = []
        self.eq: list[dict[int, float]] = []
        self.le: list[dict[int, float]] = []  # row <= 0
        self.policy: tuple[float, int, bool] = (0.0, 0, False)

    def cell(self, ident: tuple[Any, ...], label: str, truth: float | None) -> int:
        if ident not in self.ids:
            self.ids[ident] = len(self.lo)
            self.lo.append(0.0)
            self.hi.append(BIG)
            self.truth.append(truth)
            self.need.append(0.0)
            self.hidden.append(False)
            self.label.append(label)
        return self.ids[ident]

    def holds(self, row: dict[int, float]) -> bool:
        vals = [self.truth[c] for c in row]
        if any(v is None for v in vals):
            return False
        return abs(sum(k * float(v) for k, v in zip(row.values(), vals, strict=True))) < 1e-9  # type: ignore[arg-type]

    def read(self, pairs: list[tuple[Path, Path]]) -> None:
        """Every count of the exports: boxes from the CSV files, truth from their releases."""
        for export, rel in pairs:
            inside: dict[tuple[str, int], dict[str, Any]] = {}
            for f in (rel / "internal").glob("*.cellkeys.json"):
                data = json.loads(f.read_text())
                for c in data["cells"]:
                    inside[(data["file"], int(c["row"]))] = c
            keys = json.loads((export / "cellkeys.json").read_text())
            for out in keys["outputs"]:
                frame = pd.read_csv(export / out["file"], dtype=str, keep_default_na=False)
                for c in out["cells"]:
                    if c["kind"] != "count":
                        continue
                    truth = inside.get((out["file"], int(c["row"])), {})
                    k = c["key"]
                    t = truth.get("true_value")
                    ident = (
                        k["fingerprint"],
                        k["measure"],
                        k["period_start"],
                        k["period_end"],
                        tuple(sorted(k["breakdown"].items())),
                        t,
                    )
                    where = ", ".join(f"{d}={v}" for d, v in sorted(k["breakdown"].items()))
                    label = (
                        f"{k['measure']} {k['period_start']}..{k['period_end']} {where or 'all'}"
                    )
                    i = self.cell(ident, label, None if t is None else float(t))
                    shown = str(frame.at[int(c["row"]), "value"]).strip()
                    if c.get("structural_zero"):
                        self.hi[i] = 0.0
                    if shown == "*":
                        self.hidden[i] = True
                        self.need[i] = max(self.need[i], float(truth.get("width", 1.0)))
                    else:
                        lo, hi = _box(shown, int(c["base"]), int(c["threshold"]))
                        self.lo[i], self.hi[i] = max(self.lo[i], lo), min(self.hi[i], hi)
                    self.policy = (
                        float(truth.get("protection_width", 0.0)),
                        int(c["threshold"]),
                        bool(truth.get("zeros_suppressed")),
                    )

    def derive(self) -> None:
        groups: dict[tuple[Any, ...], list[tuple[int, dict[str, str]]]] = defaultdict(list)
        for ident, i in list(self.ids.items()):
            fp, m, s, e, bd, _ = ident
            groups[(fp, m, s, e)].append((i, dict(bd)))
        for members in groups.values():  # finer breakdowns add up to coarser ones
            shapes = {frozenset(b) for _, b in members}
            values: dict[str, set[str]] = defaultdict(set)  # every category seen of each dim
            bd_of = dict(members)
            for _, b in members:
                for d, v in b.items():
                    values[d].add(v)
            for i, b in members:
                for shape in shapes:
                    if not set(b) < shape:
                        continue
                    kids = [
                        k
                        for k, kb in members
                        if set(kb) == shape and all(kb[d] == v for d, v in b.items())
                    ]
                    # the parts cover every category of each dim summed over (one provider's
                    # commissioners are not all of England's, even where every count is 0)
                    cover = all({bd_of[k][d] for k in kids} == values[d] for d in shape - set(b))
                    row = {k: 1.0 for k in kids}
                    row[i] = -1.0
                    if kids and cover and self.holds(row):  # no empty sum: not covered (docs)
                        self.eq.append(row)
        by_cell: dict[tuple[Any, ...], dict[tuple[str, str], list[int]]] = defaultdict(dict)
        for (fp, m, s, e, bd, _), i in list(self.ids.items()):
            by_cell[(fp, m, bd)].setdefault((s, e), []).append(i)
        for (fp, m, bd), spans in by_cell.items():
            self._periods(fp, m, bd, spans)
        index: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for (fp, m, s, e, bd, _), i in self.ids.items():
            index[(fp, s, e, bd, m)].append(i)
        self._partitions(index)
        for (fp, s, e, bd, m), cells in list(index.items()):
            if m != "finished_treatment":
                continue
            for f in cells:
                for a, n in itertools.product(
                    index.get((fp, s, e, bd, "at_caseness"), []),
                    index.get((fp, s, e, bd, "not_at_caseness"), []),
                ):
                    row = {a: 1.0, n: 1.0, f: -1.0}
                    if self.holds(row):
                        self.eq.append(row)
                for a in index.get((fp, s, e, bd, "at_caseness"), []):
                    self.le.append({a: 1.0, f: -1.0})
                    for r in index.get((fp, s, e, bd, "recovered"), []):
                        self.le.append({r: 1.0, a: -1.0})

    def _partitions(self, index: dict[tuple[Any, ...], list[int]]) -> None:
        """The catalogue's partitions of one cell (same extract, period and breakdown)."""
        by_cell: dict[tuple[Any, ...], dict[str, list[int]]] = defaultdict(dict)
        for (fp, s, e, bd, m), cells in index.items():
            by_cell[(fp, s, e, bd)][m] = cells
        for measures in by_cell.values():
            for total, names in PARTITIONS:
                parts = [
                    m
                    for m in measures
                    if m in names or any(n.endswith("_") and m.startswith(n) for n in names)
                ]
                if total not in measures or len(parts) < 2:
                    continue
                for t in measures[total]:
                    row = {measures[m][0]: 1.0 for m in parts}
                    row[t] = -1.0
                    if self.holds(row):
                        self.eq.append(row)
            for total, names in SUBSETS:
                parts = [m for m in names if m in measures]
                if total in measures and parts:
                    row = {measures[m][0]: 1.0 for m in parts}
                    row[measures[total][0]] = -1.0
                    self.le.append(row)

    def _periods(self, fp: str, m: str, bd: Any, spans: dict[tuple[str, str], list[int]]) -> None:
        if len(spans) < 2:
            return
        days = {sp: (date.fromisoformat(sp[0]), date.fromisoformat(sp[1])) for sp in spans}
        points = sorted({p for s, e in days.values() for p in (s, e + timedelta(days=1))})
        segs = [
            (a, b)
            for a, b in itertools.pairwise(points)
            if any(s <= a and b <= e + timedelta(days=1) for s, e in days.values())
        ]
        cover = {
            sp: [j for j, (a, b) in enumerate(segs) if s <= a and b <= e + timedelta(days=1)]
            for sp, (s, e) in days.items()
        }
        truths = [self.truth[spans[sp][0]] for sp in spans]
        if any(t is None for t in truths):
            return
        a_eq = np.zeros((len(spans), len(segs)))
        for r, sp in enumerate(spans):
            a_eq[r, cover[sp]] = 1.0
        if (
            linprog(
                np.zeros(len(segs)),
                A_eq=a_eq,
                b_eq=np.array(truths, dtype=float),
                bounds=(0, None),
                method="highs",
            ).status
            != 0
        ):
            return  # not a count that adds over time
        width, threshold, zeros = self.policy
        seg_ids = []
        for j, (a, b) in enumerate(segs):
            ends = []
            for sign in (1.0, -1.0):
                c = np.zeros(len(segs))
                c[j] = sign
                res = linprog(
                    c,
                    A_eq=a_eq,
                    b_eq=np.array(truths, dtype=float),
                    bounds=(0, None),
                    method="highs",
                )
                ends.append(sign * res.fun)
            value = ends[0] if abs(ends[0] - ends[1]) < 1e-6 else None
            label = f"{m} {a}..{b - timedelta(days=1)} {bd} (segment)"
            k = self.cell(("segment", fp, m, a, b, bd), label, value)
            if value is not None and (0 < value < threshold or (value == 0 and zeros)):
                self.hidden[k] = True
                self.need[k] = width
            seg_ids.append(k)
        for sp, members in spans.items():
            for i in members:
                row = {seg_ids[j]: 1.0 for j in cover[sp]}
                row[i] = -1.0
                self.eq.append(row)

    def narrow(self) -> list[str]:
        """Suppressed cells (and small segments) narrower than the width they need."""
        n = len(self.lo)
        lo = np.array(self.lo)
        hi = np.array(self.hi)
        free = np.array(self.hidden)
        shown_somewhere = (lo > 0) | (hi < BIG)
        # a cell hidden here but shown by another (earlier) export is published: not a target
        rows = self.eq + self.le
        r_idx = [r for r, row in enumerate(rows) for _ in row]
        c_idx = [c for row in rows for c in row]
        vals = [v for row in rows for v in row.values()]
        mat = sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(len(rows), n))
        adj = (mat.T @ mat) != 0
        _, comp = connected_components(adj, directed=False)
        ub = np.r_[np.zeros(len(self.eq)), np.zeros(len(self.le))]
        lb = np.r_[np.zeros(len(self.eq)), np.full(len(self.le), -np.inf)]
        found = []
        for i in np.flatnonzero(free & ~shown_somewhere):
            cols = np.flatnonzero(comp == comp[i])
            sub = mat[:, cols]
            keep = np.flatnonzero(np.asarray(abs(sub).sum(axis=1)).ravel() > 0)
            cons = [LinearConstraint(sub[keep].toarray(), lb[keep], ub[keep])] if len(keep) else []
            where = int(np.flatnonzero(cols == i)[0])
            ends = []
            for sign in (1.0, -1.0):
                c = np.zeros(len(cols))
                c[where] = sign
                res = milp(
                    c,
                    constraints=cons,
                    integrality=np.ones(len(cols)),
                    bounds=Bounds(lo[cols], hi[cols]),
                )
                assert res.status == 0, f"{self.label[i]}: {res.message}"
                ends.append(sign * res.fun)
            need = max(self.need[i], 1.0)
            if ends[1] - ends[0] < need - 1e-9:
                found.append(f"{self.label[i]}: [{ends[0]:g}, {ends[1]:g}] needs {need:g}")
        return found


def attack(pairs: list[tuple[Path, Path]]) -> list[str]:
    """Cells of the exports (read back as a checker would) narrower than their width.

    ``pairs``: (export folder, the release folder it was built from).
    """
    a = Attacker()
    a.read(pairs)
    a.derive()
    return a.narrow()
