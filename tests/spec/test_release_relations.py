"""Spec: one audit over the whole release, per relation between outputs (issue 16).

Each test registers a tiny inline release of ``protect_measures`` outputs, each safe alone.
With joint protection off, ``release build`` must refuse the output whose suppressed cell the
outputs narrow together (the interval is worked out here by hand); with the default joint
protection, the build exports them and an attacker written HERE (its own relations, stated by
hand per test, and ``scipy.optimize.milp``) finds every suppressed cell of the export at least
the protection width wide.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from iaptkit.release import Release, build, verify
from iaptkit.sdc import load_policy, protect_measures
from iaptkit.sdc.rates import rate_texts

FY = ("2024-04-01", "2025-03-31")
# every gender label is a row of a protected measures table (the third: zeros, suppressed)
GENDERS = ("Female", "Male", "Other or not known")
WIDTH = 10


def measures(
    period: tuple[str, str], breakdown: str, cells: dict[str, dict[str, int]]
) -> pd.DataFrame:
    """A measures long table: ``{group: {measure: count}}`` (+ recovery rate when both exist)."""
    rows = []
    for group, counts in cells.items():
        base = {"period_start": period[0], "period_end": period[1], "breakdown": breakdown}
        for m, v in counts.items():
            rows.append({**base, "group": group, "measure": m, "value": v, "kind": "count"})
        if {"recovered", "at_caseness"} <= counts.keys():
            rate = 100 * counts["recovered"] / counts["at_caseness"]
            names = {"numerator": "recovered", "denominator": "at_caseness"}
            rows.append({**base, "group": group, "measure": "recovery_rate", "value": rate,
                         "kind": "rate", **names})  # fmt: skip
    return pd.DataFrame(rows)


def release_of(tmp: Path, tables: dict[str, pd.DataFrame], policy: object = "sdap") -> Path:
    rel = Release.open_or_create(tmp / "rel")
    for name, frame in tables.items():
        out = rel.add_table(protect_measures(frame, policy), name=name)  # type: ignore[arg-type]
        assert out.status == "pass", out.reasons  # every output is safe on its own
    return rel.path


def exported(export: Path) -> dict[tuple[str, ...], str]:
    """Every published count of the export: (start, end, group, measure) -> text shown."""
    shown: dict[tuple[str, ...], str] = {}
    for csv in export.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        dims = [c for c in ("provider", "gender") if c in frame.columns]
        for r in frame[frame["kind"] == "count"].to_dict("records"):
            group = " | ".join(r[d] for d in dims if r[d]) or "England"
            key = (r["period_start"], r["period_end"], group, r["measure"])
            assert shown.get(key, r["value"]) == r["value"] or "*" in (shown[key], r["value"])
            shown[key] = "*" if "*" in (shown.get(key, ""), r["value"]) else r["value"]
    return shown


def widths(
    shown: dict[tuple[str, ...], str],
    sums: list[tuple[tuple[str, ...], list[tuple[str, ...]]]],
    *,
    latent: int = 0,
    nonneg_diffs: list[tuple[tuple[str, ...], tuple[str, ...]]] = (),  # type: ignore[assignment]
    box: int = 0,
    exact: set[tuple[str, ...]] = frozenset(),  # type: ignore[assignment]
    boxes: dict[tuple[str, ...], tuple[int, int]] | None = None,
) -> dict[tuple[str, ...], float]:
    """The independent attacker: MILP min/max of every suppressed count.

    ``sums``: (total, parts) with total = sum(parts); ``nonneg_diffs``: (big, small) with
    big >= small (nested periods); published counts known within +-``box`` (rounding), except
    those in ``exact``.
    """
    keys = sorted(shown)
    ix = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for k, text in shown.items():
        if text != "*":
            b = 0 if k in exact else box
            lo[ix[k]], hi[ix[k]] = max(float(text) - b, 0.0), float(text) + b
            if boxes and k in boxes:
                lo[ix[k]], hi[ix[k]] = boxes[k]
    rows = []
    for total, parts in sums:
        if total in ix and all(p in ix for p in parts):
            row = np.zeros(n)
            row[ix[total]] = -1.0
            for p in parts:
                row[ix[p]] += 1.0
            rows.append((row, 0.0, 0.0))
    for big, small in nonneg_diffs:
        row = np.zeros(n)
        row[ix[big]], row[ix[small]] = 1.0, -1.0
        rows.append((row, 0.0, np.inf))
    cons = [LinearConstraint(np.array([r for r, _, _ in rows]), [a for _, a, _ in rows],
                             [b for _, _, b in rows])] if rows else []  # fmt: skip
    out = {}
    for k, text in shown.items():
        if text != "*":
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[ix[k]] = sign
            res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(lo, hi))
            ends.append(np.inf if res.status != 0 else sign * res.fun)
        out[k] = ends[1] - ends[0]
    return out


def joint(rel: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((rel / "release.json").read_text())["joint_audit"]
    return data


def refused_then_protected(tmp: Path, rel: Path, cell: str) -> Path:
    """Joint protection off: refused, naming ``cell``; on: exported and verified."""
    off = build(rel, tmp / "off", joint_protection=False)
    assert off.excluded, "the joint attack must succeed with joint protection off"
    summary = joint(rel)
    assert summary["passed"] is False
    assert any(cell in str(f) for f in summary["failures"])  # type: ignore[attr-defined]
    on = build(rel, tmp / "on")
    assert not on.excluded
    assert joint(rel)["passed"] is True
    assert int(joint(rel)["added"]) >= 1  # type: ignore[call-overload]
    assert verify(tmp / "on", allow_unsigned=True) == []
    return tmp / "on"


def test_providers_add_up_to_england(tmp_path: Path) -> None:
    rel = release_of(tmp_path, {
        "england": measures(FY, "england", {"England": {"finished_treatment": 123}}),
        "providers": measures(FY, "provider", {"A": {"finished_treatment": 4},
                                               "B": {"finished_treatment": 51},
                                               "C": {"finished_treatment": 68}}),
    })  # fmt: skip
    # by hand: A = 123 - 51 - 68 = 4, pinned
    export = refused_then_protected(tmp_path, rel, "provider=A")
    m = "finished_treatment"
    shown = exported(export)
    got = widths(shown, [((*FY, "England", m), [(*FY, p, m) for p in "ABC"])])
    assert got
    assert min(got.values()) >= WIDTH


def test_a_x_b_adds_up_to_a(tmp_path: Path) -> None:
    m = "finished_treatment"
    rel = release_of(tmp_path, {
        "by_provider": measures(FY, "provider", {"A": {m: 50}, "B": {m: 60}}),
        "by_provider_gender": measures(FY, "provider x gender", {
            "A | Female": {m: 3}, "A | Male": {m: 47}, "B | Female": {m: 30},
            "B | Male": {m: 30}}),
    })  # fmt: skip
    # by hand: A|F = 50 - 47 = 3
    export = refused_then_protected(tmp_path, rel, "gender=Female")
    shown = exported(export)
    sums = [((*FY, p, m), [(*FY, f"{p} | {g}", m) for g in GENDERS]) for p in "AB"]
    got = widths(shown, sums)
    assert got
    assert min(got.values()) >= WIDTH


def test_nested_periods_difference(tmp_path: Path) -> None:
    m = "finished_treatment"
    may = ("2024-05-01", "2025-03-31")
    rel = release_of(tmp_path, {
        "april_march": measures(FY, "england", {"England": {m: 60}}),
        "april_march_providers": measures(FY, "provider", {"A": {m: 12}, "B": {m: 48}}),
        "may_march": measures(may, "england", {"England": {m: 57}}),
        "may_march_providers": measures(may, "provider", {"A": {m: 9}, "B": {m: 48}}),
    })  # fmt: skip
    # by hand: April for A and B together is 60 - 57 = 3, so A(May-March) is in [9, 12]
    export = refused_then_protected(tmp_path, rel, "provider=A")
    shown = exported(export)
    sums = [((*p, "England", m), [(*p, g, m) for g in "AB"]) for p in (FY, may)]
    nested = [((*FY, g, m), (*may, g, m)) for g in ("England", "A", "B")]
    got = widths(shown, sums, nonneg_diffs=nested)
    assert got
    assert min(got.values()) >= WIDTH


def test_a_period_split_in_two(tmp_path: Path) -> None:
    m = "finished_treatment"
    first, last = ("2024-04-01", "2024-12-31"), ("2025-01-01", "2025-03-31")
    rel = release_of(tmp_path, {
        "year": measures(FY, "provider", {"A": {m: 40}, "B": {m: 70}}),
        "to_december": measures(first, "provider", {"A": {m: 35}, "B": {m: 50}}),
        "from_january": measures(last, "provider", {"A": {m: 5}, "B": {m: 20}}),
    })  # fmt: skip
    # by hand: A(January-March) = 40 - 35 = 5
    export = refused_then_protected(tmp_path, rel, "provider=A")
    shown = exported(export)
    sums = [((*FY, g, m), [(*first, g, m), (*last, g, m)]) for g in "AB"]
    got = widths(shown, sums)
    assert got
    assert min(got.values()) >= WIDTH


def test_the_same_cell_in_two_outputs(tmp_path: Path) -> None:
    m = "finished_treatment"
    rel = release_of(tmp_path, {
        "england_providers": measures(FY, "england", {"England": {m: 54}}).pipe(
            lambda e: pd.concat([e, measures(FY, "provider", {"A": {m: 4}, "B": {m: 50}})])),
        "providers_gender": measures(FY, "provider", {"A": {m: 4}, "B": {m: 50}}).pipe(
            lambda p: pd.concat([p, measures(FY, "provider x gender", {
                "A | Female": {m: 2}, "A | Male": {m: 2}, "B | Female": {m: 25},
                "B | Male": {m: 25}})])),
    })  # fmt: skip
    # the first output hides B (secondary, for A); the second shows B = 50, so A = 54 - 50
    export = refused_then_protected(tmp_path, rel, "provider=A")
    shown = exported(export)
    sums = [((*FY, "England", m), [(*FY, p, m) for p in "AB"])]
    sums += [((*FY, p, m), [(*FY, f"{p} | {g}", m) for g in GENDERS]) for p in "AB"]
    got = widths(shown, sums)
    assert got
    assert min(got.values()) >= WIDTH


def _rates_release(tmp: Path, rates_from: str) -> Path:
    policy = replace(load_policy("nhs-sde"), rates_from=rates_from,
                     rounding_applies_to="sub-national", protection_width=5)  # fmt: skip
    return release_of(tmp, {
        "providers": measures(FY, "provider", {
            "A": {"at_caseness": 23, "recovered": 12},
            "B": {"at_caseness": 40, "recovered": 20},
            "C": {"at_caseness": 7, "recovered": 3}}),
        "england": measures(FY, "england", {"England": {"at_caseness": 70, "recovered": 35}}),
    }, policy)  # fmt: skip


def test_rates_from_unrounded_counts_pin_rounded_counts(tmp_path: Path) -> None:
    # counts alone: C = 70 - A - B with A in [23, 27], B in [38, 42]: [1, 9], width 8 >= 5.
    # 52.2 % = 12/23 pins A = 23 and 50.0 % leaves B in {38, 40, 42}: C in [5, 9], width 4.
    rel = _rates_release(tmp_path, "unrounded")
    export = refused_then_protected(tmp_path, rel, "provider=C")
    shown = exported(export)
    rates = {}
    boxes: dict[tuple[str, ...], tuple[int, int]] = {}
    for csv in export.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for r in frame[frame["kind"] == "rate"].to_dict("records"):
            rates[r.get("provider") or "England"] = (r["value"], r["ci_lower"], r["ci_upper"])
    # the independent attacker: counts of a published rate are only the pairs that print as shown
    for prov, texts in rates.items():
        if texts[0] == "*":
            continue
        num, den = (shown[(*FY, prov, m)] for m in ("recovered", "at_caseness"))
        pairs = [
            (n, d)
            for n in range(int(num) - 2, int(num) + 3)
            for d in range(int(den) - 2, int(den) + 3)
            if rate_texts(n, d, 1) == texts
        ]
        assert pairs, "the published rate must come from counts in the rounding boxes"
        boxes[(*FY, prov, "at_caseness")] = (min(d for _, d in pairs), max(d for _, d in pairs))
        boxes[(*FY, prov, "recovered")] = (min(n for n, _ in pairs), max(n for n, _ in pairs))
    exact = {k for k in shown if k[2] == "England"}
    sums = [((*FY, "England", m), [(*FY, p, m) for p in "ABC"]) for m in ("at_caseness",)]
    got = widths(shown, sums, box=2, exact=exact, boxes=boxes)
    assert got
    assert min(got.values()) >= 5


def test_rates_from_published_counts_tell_nothing_more(tmp_path: Path) -> None:
    rel = _rates_release(tmp_path, "published")
    result = build(rel, tmp_path / "on", joint_protection=False)
    assert not result.excluded
    assert joint(rel)["passed"] is True


def test_an_earlier_export_cannot_be_undone(tmp_path: Path) -> None:
    m = "finished_treatment"
    counts = {"A": {m: 4}, "B": {m: 51}, "C": {m: 68}}
    first = Release.open_or_create(tmp_path / "first")
    both = pd.concat([measures(FY, "england", {"England": {m: 123}}),
                      measures(FY, "provider", counts)])  # fmt: skip
    first.add_table(protect_measures(both, "sdap"), name="england_providers")
    build(first.path, tmp_path / "first_export")
    earlier = exported(tmp_path / "first_export")
    assert earlier[(*FY, "A", m)] == "*"
    assert "*" in (earlier[(*FY, "B", m)], earlier[(*FY, "C", m)])  # A's complement
    # a later release of the providers alone shows all but A: safe on its own ...
    later = release_of(tmp_path, {"providers": measures(FY, "provider", counts)})
    alone = build(later, tmp_path / "alone", joint_protection=False)
    assert not alone.excluded
    # ... but with the earlier England total, A = 123 - B - C: refused without joint protection
    off = build(
        later, tmp_path / "off", joint_protection=False, previous=[tmp_path / "first_export"]
    )
    assert off.excluded == {"providers": "fail"}
    on = build(later, tmp_path / "on", previous=[tmp_path / "first_export"])
    assert not on.excluded
    now = exported(tmp_path / "on")
    assert now[(*FY, "A", m)] == "*"
    hidden = [p for p in "BC" if now[(*FY, p, m)] == "*"]
    assert hidden, "a complement of A must be suppressed in the later export too"
    # the attacker holds both exports: a value shown in either is known
    shown = dict(earlier)
    for k, v in now.items():
        if v != "*" or k not in shown:
            shown[k] = v
    got = widths(shown, [((*FY, "England", m), [(*FY, p, m) for p in "ABC"])])
    assert got[(*FY, "A", m)] >= WIDTH


def test_provider_runs_of_a_table_add_up_to_the_england_run(tmp_path: Path) -> None:
    """Notebook style: one ``protect()`` table per run, England and each provider."""
    from iaptkit.release.cellkeys import KeyContext
    from iaptkit.sdc import protect

    runs = {"England": {"recovered": 30, "not recovered": 100},
            "A": {"recovered": 4, "not recovered": 40},
            "B": {"recovered": 26, "not recovered": 60}}  # fmt: skip
    rel = Release.open_or_create(tmp_path / "rel")
    for who, counts in runs.items():
        frame = pd.DataFrame({"outcome": list(counts), "n": list(counts.values())})
        pt = protect(frame, ["outcome"], "n", policy="sdap", name=f"outcome_{who}",
                     population=f"pathways finishing treatment, {who}")  # fmt: skip
        scope = () if who == "England" else (("provider", who),)
        keys = KeyContext(measure="finished_treatment", period_start=FY[0], period_end=FY[1],
                          scope=scope)  # fmt: skip
        assert rel.add_table(pt, cell_keys=keys).status == "pass"
    # by hand: A recovered = 30 - 26 = 4 (England run minus provider B's run)
    export = refused_then_protected(tmp_path, rel.path, "provider=A")
    shown: dict[tuple[str, ...], str] = {}
    for who in runs:
        frame = pd.read_csv(export / f"outcome_{who.lower()}.csv", dtype=str)
        for r in frame.to_dict("records"):
            shown[(who, r["outcome"])] = r["value"]
    outcomes = ["recovered", "not recovered", "Total"]
    sums = [(("England", o), [("A", o), ("B", o)]) for o in outcomes]
    sums += [((w, "Total"), [(w, "recovered"), (w, "not recovered")]) for w in runs]
    got = widths(shown, sums)
    assert got[("A", "recovered")] >= WIDTH


def _segment_widths(shown: dict[tuple[str, ...], str], groups: tuple[str, ...]) -> dict[str, float]:
    """The independent attacker's width of each group's April: FY = April + May-March, >= 0."""
    may = ("2024-05-01", "2025-03-31")
    m = "finished_treatment"
    keys = sorted(shown)
    n = len(keys) + len(groups)  # the published cells, then one April per group
    ix = {k: i for i, k in enumerate(keys)}
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for k, text in shown.items():
        if text != "*":
            lo[ix[k]] = hi[ix[k]] = float(text)
    rows = []
    for j, g in enumerate(groups):
        row = np.zeros(n)
        row[ix[(*FY, g, m)]], row[ix[(*may, g, m)]], row[len(keys) + j] = -1.0, 1.0, 1.0
        rows.append(row)
    for p in (FY, may):  # providers add up to England
        row = np.zeros(n)
        row[ix[(*p, "England", m)]] = -1.0
        for g in groups[1:]:
            row[ix[(*p, g, m)]] = 1.0
        rows.append(row)
    cons = [LinearConstraint(np.array(rows), 0.0, 0.0)]
    out = {}
    for j, g in enumerate(groups):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[len(keys) + j] = sign
            res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(lo, hi))
            ends.append(np.inf if res.status != 0 else sign * res.fun)
        out[g] = ends[1] - ends[0]
    return out


def test_a_small_period_segment_given_by_subtraction(tmp_path: Path) -> None:
    """April-March and May-March published together give April; a small April is protected."""
    m = "finished_treatment"
    may = ("2024-05-01", "2025-03-31")
    rel = release_of(tmp_path, {
        "april_march": measures(FY, "england", {"England": {m: 100}}).pipe(
            lambda e: pd.concat([e, measures(FY, "provider", {"A": {m: 40}, "B": {m: 60}})])),
        "may_march": measures(may, "england", {"England": {m: 97}}).pipe(
            lambda e: pd.concat([e, measures(may, "provider", {"A": {m: 38}, "B": {m: 59}})])),
    })  # fmt: skip
    # before: every count is shown (each output is safe alone); April is A 2, B 1, England 3
    before = _segment_widths(exported(rel / "outputs"), ("England", "A", "B"))
    assert before == {"England": 0.0, "A": 0.0, "B": 0.0}
    off = build(rel, tmp_path / "off", joint_protection=False)
    assert set(off.excluded) == {"april_march", "may_march"}
    failures = [str(f) for f in joint(rel)["failures"]]  # type: ignore[attr-defined]
    assert any("2024-04-01..2024-04-30" in f and "provider=A" in f for f in failures)
    assert any("period segment" in f for f in failures)
    on = build(rel, tmp_path / "on")
    assert not on.excluded
    assert joint(rel)["passed"] is True
    assert verify(tmp_path / "on", allow_unsigned=True) == []
    after = _segment_widths(exported(tmp_path / "on"), ("England", "A", "B"))
    assert min(after.values()) >= WIDTH, after


def test_a_mean_of_a_count_joint_protection_hides_is_hidden_too(tmp_path: Path) -> None:
    """Means: a mean is published with its count (the row's ``denominator`` column).

    Joint protection hides B's count (A = England - B - C); a mean of B left published would
    print B's count beside it (the attack before: B read off the mean's row exactly) and, with
    England's and C's means and counts, tie B to A's sum of sessions. The rule: a mean whose count
    is suppressed anywhere is suppressed with its count columns, in every output
    (``protect_measures`` within one output; the joint audit across), and ``verify`` refuses an
    export that breaks it.
    """
    m, mean = "finished_treatment", "mean_sessions_finished"

    def with_means(breakdown: str, cells: dict[str, tuple[int, float]]) -> pd.DataFrame:
        frame = measures(FY, breakdown, {g: {m: n} for g, (n, _) in cells.items()})
        rows = [{"period_start": FY[0], "period_end": FY[1], "breakdown": breakdown, "group": g,
                 "measure": mean, "value": v, "kind": "mean", "denominator": m}
                for g, (_, v) in cells.items()]  # fmt: skip
        return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)

    rel = release_of(tmp_path, {
        "england": with_means("england", {"England": (123, 12.2)}),
        # the means fit together: 123 x 12.2 is about 4 x 13.0 + 51 x 11.1 + 68 x 13.0 sessions
        "providers": with_means("provider", {"A": (4, 13.0), "B": (51, 11.1), "C": (68, 13.0)}),
    })  # fmt: skip

    def means(folder: Path) -> dict[str, tuple[str, str]]:
        frame = pd.read_csv(folder / "providers.csv", dtype=str, keep_default_na=False)
        count = {r["provider"]: r["value"] for r in frame[frame["measure"] == m].to_dict("records")}
        got = frame[frame["measure"] == mean].to_dict("records")
        return {r["provider"]: (count[r["provider"]], r["value"], r["denominator"]) for r in got}

    before = means(rel / "outputs")
    assert before["A"] == ("*", "*", "*")  # primary: count and mean hidden by protect_measures
    assert before["B"] == ("51", "11.1", "51")
    assert before["C"] == ("68", "13.0", "68")
    on = build(rel, tmp_path / "on")
    assert not on.excluded
    after = means(tmp_path / "on")
    hidden = [p for p in "BC" if after[p][0] == "*"]
    assert hidden, "joint protection hides A's complement"
    for p in "ABC":  # a count hidden: its mean and the count beside it too
        assert (after[p][0] == "*") == (after[p][1] == "*") == (after[p][2] == "*"), after[p]
    assert verify(tmp_path / "on", allow_unsigned=True) == []
    # verify refuses an export whose mean of a hidden count was left published
    keys = json.loads((tmp_path / "on" / "cellkeys.json").read_text())
    csv = tmp_path / "on" / "providers.csv"
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for out in keys["outputs"]:
        for c in out["cells"]:
            if c["kind"] != "count" and c["key"]["breakdown"].get("provider") == hidden[0]:
                c["suppressed"], c["shown"] = False, "11.1"
                frame.at[c["row"], "value"] = "11.1"
    (tmp_path / "on" / "cellkeys.json").write_text(json.dumps(keys))
    frame.to_csv(csv, index=False)
    from iaptkit.release.cellaudit import audit_cellkeys

    problems, _ = audit_cellkeys(tmp_path / "on")
    assert any("rate or mean made from a count" in p for p in problems)


def test_means_that_do_not_fit_their_counts_are_refused_not_ignored(tmp_path: Path) -> None:
    """Means whose sums cannot add up (123 x 12.2 beside 4 x 13.0 + 51 x 11.1 + 68 x 14.0
    sessions) cannot be audited with the counts: the build refuses the outputs, saying why,
    instead of auditing the counts alone and publishing the means unaudited."""
    m, mean = "finished_treatment", "mean_sessions_finished"

    def with_means(breakdown: str, cells: dict[str, tuple[int, float]]) -> pd.DataFrame:
        frame = measures(FY, breakdown, {g: {m: n} for g, (n, _) in cells.items()})
        rows = [{"period_start": FY[0], "period_end": FY[1], "breakdown": breakdown, "group": g,
                 "measure": mean, "value": v, "kind": "mean", "denominator": m}
                for g, (_, v) in cells.items()]  # fmt: skip
        return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)

    rel = release_of(tmp_path, {
        "england": with_means("england", {"England": (123, 12.2)}),
        "providers": with_means("provider", {"A": (4, 13.0), "B": (51, 11.1), "C": (68, 14.0)}),
    })  # fmt: skip
    result = build(rel, tmp_path / "out")
    assert set(result.excluded) == {"england", "providers"}
    failures = [str(f) for f in joint(rel)["failures"]]  # type: ignore[attr-defined]
    assert any("published means do not fit" in f for f in failures), failures


def test_wait_bands_in_one_output_add_up_to_the_total_in_another(tmp_path: Path) -> None:
    bands = {"entered_wait_le_28_days": 22, "entered_wait_29_to_56_days": 4,
             "entered_wait_57_to_90_days": 2, "entered_wait_over_90_days": 2}  # fmt: skip
    rel = release_of(tmp_path, {
        "entered": measures(FY, "england", {"England": {"entered_treatment": 30}}),
        "bands": measures(FY, "england", {"England": bands}),
    })  # fmt: skip
    # alone: the three small bands are any split of anything; together 30 - 22 = 8 between them
    export = refused_then_protected(tmp_path, rel, "entered_wait_")
    shown = exported(export)
    total = (*FY, "England", "entered_treatment")
    got = widths(shown, [(total, [(*FY, "England", b) for b in bands])])
    assert got
    assert min(got.values()) >= WIDTH
