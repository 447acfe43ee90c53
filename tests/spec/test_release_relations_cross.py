"""Spec: relations across dimensions, the build's relations in verify, means (issue 16).

Inline releases as in ``test_release_relations.py`` (its helpers: the measures table, the
release, the export read back and the independent MILP attacker written by hand). Each
relation: with joint protection off the build refuses (the attack succeeds), with it on the
export passes the hand-written attacker and ``release verify``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from test_release_relations import (
    FY,
    GENDERS,
    WIDTH,
    exported,
    measures,
    refused_then_protected,
    release_of,
    widths,
)

from iaptkit.release import build, verify
from iaptkit.release.cellaudit import audit_cellkeys

M = "finished_treatment"
# every gender label is a row (the third, nobody in it: zeros that protect_measures adds)
PG = {"A | Female": {M: 3}, "A | Male": {M: 47}, "B | Female": {M: 30}, "B | Male": {M: 30}}
PG_ALL = [f"{p} | {g}" for p in "AB" for g in GENDERS]


def test_a_x_b_adds_up_to_b(tmp_path: Path) -> None:
    """provider x gender summed over providers is the gender margin (England by gender)."""
    rel = release_of(tmp_path, {
        "by_gender": measures(FY, "gender", {"Female": {M: 33}, "Male": {M: 77}}),
        "by_provider_gender": measures(FY, "provider x gender", PG),
    })  # fmt: skip
    # by hand: A|F = F - B|F = 33 - 30 = 3
    export = refused_then_protected(tmp_path, rel, "gender=Female, provider=A")
    shown = exported(export)
    sums = [((*FY, g, M), [(*FY, f"{p} | {g}", M) for p in "AB"]) for g in GENDERS]
    got = widths(shown, sums)
    assert got
    assert min(got.values()) >= WIDTH


def test_a_x_b_adds_up_to_the_total_without_margins(tmp_path: Path) -> None:
    """provider x gender summed over both is England, with neither margin published."""
    rel = release_of(tmp_path, {
        "england": measures(FY, "england", {"England": {M: 110}}),
        "by_provider_gender": measures(FY, "provider x gender", PG),
    })  # fmt: skip
    # by hand: A|F = 110 - 47 - 30 - 30 = 3
    export = refused_then_protected(tmp_path, rel, "gender=Female, provider=A")
    shown = exported(export)
    sums = [((*FY, "England", M), [(*FY, g, M) for g in PG_ALL])]
    got = widths(shown, sums)
    assert got
    assert min(got.values()) >= WIDTH
    joint = json.loads((export / "cellkeys.json").read_text())["joint"]
    assert any(len(row) == 7 for row in joint["equalities"])  # England = the six cells


def _tamper(export: Path, file: str, edit: dict[str, str]) -> None:
    """Edit cells of ``file`` (provider | gender -> new text) in the CSV and cellkeys.json."""
    keys = json.loads((export / "cellkeys.json").read_text())
    csv = export / file
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for out in keys["outputs"]:
        if out["file"] != file:
            continue
        for c in out["cells"]:
            b = c["key"]["breakdown"]
            group = " | ".join(b[d] for d in ("provider", "gender") if d in b) or "England"
            if c["kind"] == "count" and group in edit:
                c["suppressed"], c["shown"] = edit[group] == "*", edit[group]
                frame.at[c["row"], "value"] = edit[group]
    (export / "cellkeys.json").write_text(json.dumps(keys))
    frame.to_csv(csv, index=False)


def test_verify_reruns_the_builds_relations_on_a_tampered_export(tmp_path: Path) -> None:
    rel = release_of(tmp_path, {
        "england": measures(FY, "england", {"England": {M: 110}}),
        "by_provider_gender": measures(FY, "provider x gender", PG),
    })  # fmt: skip
    done = build(rel, tmp_path / "on")
    assert not done.excluded
    assert audit_cellkeys(tmp_path / "on") == ([], [])
    truth = {"A | Female": "3", "A | Male": "47", "B | Female": "30", "B | Male": "30"}
    truth |= {g: "0" for g in PG_ALL if g not in PG}  # the zeros nobody is in
    shown = exported(tmp_path / "on")
    hidden = [g for g in PG_ALL if shown[(*FY, g, M)] == "*"]
    assert "A | Female" in hidden
    assert len(hidden) >= 2
    # 1. every suppressed cell but A | Female un-starred (its true value): A | Female is pinned
    # by the sum (verify proves no suppressed cell exact: the export does not say which are
    # primaries, so a width-3 interval is not caught there; the build's audit catches it)
    unstar = {g: truth[g] for g in hidden if g != "A | Female"}
    for name, edit in (("unstar", unstar), ("break", {"England": "20"})):
        copy = tmp_path / name
        copy.mkdir()
        for f in (tmp_path / "on").iterdir():
            if f.is_file():
                (copy / f.name).write_bytes(f.read_bytes())
        target = "england.csv" if name == "break" else "by_provider_gender.csv"
        _tamper(copy, target, edit)
        problems, _ = audit_cellkeys(copy)
        assert problems, name
        if name == "unstar":
            assert any(
                "suppressed cell" in p and "gender=Female, provider=A" in p for p in problems
            )
        else:  # 2. a relation-breaking edit: the published values contradict the relations
            assert any("contradict the relations the build recorded" in p for p in problems)
        assert any("joint audit" in p for p in verify(copy, allow_unsigned=True))


def test_verify_without_the_build_relations_says_so(tmp_path: Path) -> None:
    rel = release_of(tmp_path, {
        "england": measures(FY, "england", {"England": {M: 110}}),
        "by_provider_gender": measures(FY, "provider x gender", PG),
    })  # fmt: skip
    build(rel, tmp_path / "on")
    keys = json.loads((tmp_path / "on" / "cellkeys.json").read_text())
    del keys["joint"]
    (tmp_path / "on" / "cellkeys.json").write_text(json.dumps(keys))
    problems, notes = audit_cellkeys(tmp_path / "on")
    assert problems == []
    assert any("no build relations" in n for n in notes)


MEAN = "mean_sessions_finished"
#: True counts and session totals: A 4 pathways (80 sessions), B 51 (566), C 68 (952).
SESSIONS = {"A": (4, 80), "B": (51, 566), "C": (68, 952)}


def _with_means(breakdown: str, cells: dict[str, tuple[int, int]]) -> pd.DataFrame:
    frame = measures(FY, breakdown, {g: {M: n} for g, (n, _) in cells.items()})
    rows = [{"period_start": FY[0], "period_end": FY[1], "breakdown": breakdown, "group": g,
             "measure": MEAN, "value": s / n, "kind": "mean", "denominator": M}
            for g, (n, s) in cells.items()]  # fmt: skip
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def _sum_attack(
    rows: dict[str, tuple[str, str]], per_person: tuple[float, float]
) -> dict[str, float]:
    """Width of each hidden provider count for an attacker who uses the means' sums.

    ``rows``: group -> (count shown, mean shown). Unknowns: each count ``n`` (whole) and sum of
    sessions ``S``; England = A + B + C for both; a published mean ``m`` (1 decimal) with its
    count gives ``(m - 0.05) n <= S <= (m + 0.05) n``; a hidden mean only that every pathway has
    ``per_person`` sessions (``lo n <= S <= hi n``).
    """
    groups = ["England", "A", "B", "C"]
    n_var = {g: i for i, g in enumerate(groups)}
    s_var = {g: 4 + i for i, g in enumerate(groups)}
    lo, hi = np.zeros(8), np.full(8, 1e6)
    rows_a, lb, ub = [], [], []
    for var in (n_var, s_var):
        r = np.zeros(8)
        r[var["England"]] = -1.0
        for p in "ABC":
            r[var[p]] = 1.0
        rows_a.append(r), lb.append(0.0), ub.append(0.0)
    for g in groups:
        count, mean = rows[g]
        if count != "*":
            lo[n_var[g]] = hi[n_var[g]] = float(count)
        a, b = (float(mean) - 0.05, float(mean) + 0.05) if mean != "*" else per_person
        for coef, bound in ((a, "lower"), (b, "upper")):
            r = np.zeros(8)
            r[s_var[g]], r[n_var[g]] = 1.0, -coef
            rows_a.append(r)
            lb.append(0.0 if bound == "lower" else -np.inf)
            ub.append(np.inf if bound == "lower" else 0.0)
    cons = [LinearConstraint(np.array(rows_a), lb, ub)]
    whole = np.array([1] * 4 + [0] * 4)
    out = {}
    for g in "ABC":
        if rows[g][0] != "*":
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(8)
            c[n_var[g]] = sign
            res = milp(c, constraints=cons, integrality=whole, bounds=Bounds(lo, hi))
            assert res.status == 0, res.message
            ends.append(sign * res.fun)
        out[g] = ends[1] - ends[0]
    return out


def test_means_sums_do_not_narrow_a_hidden_count(tmp_path: Path) -> None:
    """A published mean with its count gives a sum (sessions); sums add up like counts.

    Before: the export with the means of the hidden counts printed (the rule broken): the
    sums pin A to [3, 5] (England's sessions less C's, split at two different means). After:
    the export as built (a mean whose count is hidden is hidden): A keeps its width even for an
    attacker who knows every pathway had 2 to 100 sessions.
    """
    england_n = sum(n for n, _ in SESSIONS.values())
    england_s = sum(s for _, s in SESSIONS.values())
    rel = release_of(tmp_path, {
        "england": _with_means("england", {"England": (england_n, england_s)}),
        "providers": _with_means("provider", SESSIONS),
    })  # fmt: skip
    on = build(rel, tmp_path / "on")
    assert not on.excluded

    def shown(folder: Path) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for name, dim in (("england.csv", ""), ("providers.csv", "provider")):
            frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
            for r in frame.to_dict("records"):
                g = r[dim] if dim else "England"
                count, mean = out.get(g, ("", ""))
                if r["measure"] == M:
                    count = r["value"]
                else:
                    mean = r["value"]
                out[g] = (count, mean)
        return out

    after = shown(tmp_path / "on")
    hidden = [g for g in "ABC" if after[g][0] == "*"]
    assert "A" in hidden
    assert len(hidden) == 2
    assert all(after[g][1] == "*" for g in hidden)  # the rule: hidden count, hidden mean
    got = _sum_attack(after, (2.0, 100.0))
    assert min(got.values()) >= WIDTH, got
    before = dict(after)
    for g in hidden:  # the means printed as they would be
        n, s = SESSIONS[g]
        before[g] = ("*", f"{s / n:.1f}")
    got = _sum_attack(before, (2.0, 100.0))
    assert got["A"] < WIDTH, got


def test_a_segment_cut_by_an_earlier_exports_period(tmp_path: Path) -> None:
    """April-March exported before, April-February now: March by subtraction (issue 16).

    The build has no true count of the earlier period, yet March for A = 40 - 36 = 4 is a
    count the policy suppresses: with joint protection off the later build refuses, naming
    the period segment; with it on, March for A keeps the protection width for an attacker
    holding both exports.
    """
    feb = ("2024-04-01", "2025-02-28")
    first = release_of(tmp_path / "one", {
        "year": measures(FY, "provider", {"A": {M: 40}, "B": {M: 70}}),
    })  # fmt: skip
    assert not build(first, tmp_path / "year_export").excluded
    later = release_of(tmp_path / "two", {
        "to_february": measures(feb, "provider", {"A": {M: 36}, "B": {M: 52}}),
    })  # fmt: skip
    previous = [tmp_path / "year_export"]
    off = build(later, tmp_path / "off", joint_protection=False, previous=previous)
    assert off.excluded == {"to_february": "fail"}
    failures = json.loads((later / "release.json").read_text())["joint_audit"]["failures"]
    assert any("2025-03-01..2025-03-31" in f and "period segment" in f for f in failures)
    on = build(later, tmp_path / "on", previous=previous)
    assert not on.excluded
    shown = {**exported(tmp_path / "year_export"), **exported(tmp_path / "on")}
    assert shown[(*feb, "A", M)] == "*"  # the later period's A hidden
    march = ("2025-03-01", "2025-03-31")
    for p in "AB":
        shown[(*march, p, M)] = "*"  # March: unknown, >= 0
    sums = [((*FY, p, M), [(*feb, p, M), (*march, p, M)]) for p in "AB"]
    got = widths(shown, sums)
    assert got[(*march, "A", M)] >= WIDTH, got
