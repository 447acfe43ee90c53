"""protect_measures(): counts protected jointly with their relations; rates and means redone."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from iaptkit.errors import ConfigError
from iaptkit.sdc import load_policy, protect_measures

PERIOD = ("2024-04-01", "2024-06-30")

# Counts per group (England = A + B), typed in by hand.
COUNTS = {
    "England": {"finished_treatment": 120, "not_at_caseness": 20, "at_caseness": 100,
                "recovered": 50, "reliably_recovered": 45, "waited_6_weeks": 90,
                "waited_18_weeks": 110},
    "A": {"finished_treatment": 100, "not_at_caseness": 17, "at_caseness": 83,
          "recovered": 46, "reliably_recovered": 42, "waited_6_weeks": 80, "waited_18_weeks": 95},
    "B": {"finished_treatment": 20, "not_at_caseness": 3, "at_caseness": 17,
          "recovered": 4, "reliably_recovered": 3, "waited_6_weeks": 10, "waited_18_weeks": 15},
}  # fmt: skip
RATES = (
    ("recovery_rate", "recovered", "at_caseness"),
    ("waited_18_weeks_rate", "waited_18_weeks", "finished_treatment"),
)


def _row(
    breakdown: str, group: str, measure: str, value: float | None, kind: str, **kw: object
) -> dict[str, object]:
    return {
        "period_start": PERIOD[0],
        "period_end": PERIOD[1],
        "breakdown": breakdown,
        "group": group,
        "measure": measure,
        "value": value,
        "kind": kind,
        "numerator": kw.get("numerator"),
        "denominator": kw.get("denominator"),
        "ci_lower": kw.get("ci_lower"),
        "ci_upper": kw.get("ci_upper"),
        "definitions_version": "test-1",
    }


def measures_table(
    counts: dict[str, dict[str, int]] = COUNTS, mean_contrib: bool = True
) -> pd.DataFrame:
    rows = []
    for group, values in counts.items():
        b = "england" if group == "England" else "provider"
        for measure, v in values.items():
            rows.append(_row(b, group, measure, float(v), "count"))
        for measure, num, den in RATES:
            rate = 100 * values[num] / values[den] if values[den] else None
            rows.append(_row(b, group, measure, rate, "rate", numerator=num, denominator=den))
        contrib = "finished_treatment" if mean_contrib else None
        rows.append(_row(b, group, "mean_sessions_finished", 7.25, "mean", denominator=contrib))
    return pd.DataFrame(rows)


def _pct(x: float, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(str(x)).quantize(q, rounding=ROUND_HALF_UP))


def _exported(result) -> pd.DataFrame:
    """The CSV export with the group of the england / provider breakdowns in one column."""
    pub = result.export()
    provider = pub["provider"] if "provider" in pub.columns else pd.Series(pd.NA, index=pub.index)
    return pub.assign(group=provider.fillna("England"))


def _published(result, group: str, measure: str) -> str:
    pub = _exported(result)
    row = pub[(pub["group"] == group) & (pub["measure"] == measure)]
    assert len(row) == 1
    return str(row["value"].iloc[0])


def test_export_columns_and_policy_identity() -> None:
    table = measures_table()
    res = protect_measures(table, "nhs-sde")
    pub = res.published()
    assert list(pub.columns) == [
        "period_start", "period_end", "breakdown", "provider", "measure", "kind", "value",
        "status", "numerator", "numerator_measure", "denominator", "denominator_measure",
        "ci_lower", "ci_upper", "rate_from", "definitions_version", "policy_id", "policy_version",
    ]  # fmt: skip
    assert set(pub["policy_id"]) == {"nhs-sde"}
    assert len(pub) == len(table)
    assert res.certificate.passed


def test_relations_added() -> None:
    res = protect_measures(measures_table(), "sdap")
    # England = A + B for each of the 7 count measures; finished = at + not_at for 3 groups.
    assert res.relations_added["equalities"] == 7 + 3
    # Per group: recovered<=at_caseness, reliably_recovered<=recovered, w6<=w18, w18<=finished.
    assert res.relations_added["inequalities"] == 4 * 3


def test_small_counts_suppressed_and_complements_protect_them() -> None:
    res = protect_measures(measures_table(), "nhs-sde")
    cells = res.underlying()
    status = cells.set_index(["group", "measure"])["status"]
    for measure in ("not_at_caseness", "recovered", "reliably_recovered"):
        assert status[("B", measure)] == "primary"
    # B's not_at_caseness = England - A: A's must be hidden too (or England's).
    assert "*" in {
        _published(res, "A", "not_at_caseness"),
        _published(res, "England", "not_at_caseness"),
    }
    # Every suppressed primary is at least the threshold wide for the attacker.
    for iv in res.certificate.intervals:
        if iv.is_primary:
            assert iv.upper - iv.lower >= 10


def test_inequalities_reach_the_attacker() -> None:
    """B recovered (4) is hidden; recovered <= at_caseness bounds it by B's at_caseness."""
    res = protect_measures(measures_table(), "sdap")
    ivs = {iv.label: iv for iv in res.certificate.intervals}
    rec = ivs[f"recovered provider=B {PERIOD[0]}..{PERIOD[1]}"]
    at_b = _published(res, "B", "at_caseness")
    if at_b != "*":
        assert rec.upper <= int(at_b)
    else:
        assert rec.upper <= 20  # at_caseness <= finished_treatment (20, published)


def test_rates_recomputed_from_published_counts_talking_therapies() -> None:
    pol = load_policy("nhs-talking-therapies")
    res = protect_measures(measures_table(), pol)
    # National: 1 dp from the (unrounded) national counts (50/100).
    assert _published(res, "England", "recovery_rate") == _pct(100 * 50 / 100, 1)
    # Sub-national, whole per cent: A's waited_18_weeks_rate = 95/100.
    a_w18 = _published(res, "A", "waited_18_weeks_rate")
    assert a_w18 == _pct(100 * 95 / 100, 0)
    # B's recovery rate: numerator 4 < 5 -> suppressed.
    assert _published(res, "B", "recovery_rate") == "*"


def test_rates_from_rounded_counts_opensafely() -> None:
    res = protect_measures(measures_table(), "opensafely")
    cells = res.underlying().set_index(["group", "measure"])
    w18 = cells.loc[("A", "waited_18_weeks"), "display"]
    fin = cells.loc[("A", "finished_treatment"), "display"]
    assert (w18, fin) == ("95", "100")
    eng_w18 = cells.loc[("England", "waited_18_weeks"), "display"]
    eng_fin = cells.loc[("England", "finished_treatment"), "display"]
    expected = _pct(100 * int(eng_w18) / int(eng_fin), 1)
    assert _published(res, "England", "waited_18_weeks_rate") == expected


def test_rate_suppressed_when_a_count_is_suppressed() -> None:
    res = protect_measures(measures_table(), "nhs-sde")
    cells = res.underlying().set_index(["group", "measure"])
    for group in ("England", "A", "B"):
        num_hidden = cells.loc[(group, "recovered"), "display"] == "*"
        den_hidden = cells.loc[(group, "at_caseness"), "display"] == "*"
        shown = _published(res, group, "recovery_rate")
        assert (shown == "*") == bool(num_hidden or den_hidden)


def test_confidence_limits_follow_the_rate() -> None:
    res = protect_measures(measures_table(), "nhs-sde")
    pub = _exported(res).set_index(["group", "measure"])
    assert pub.loc[("B", "recovery_rate"), "ci_lower"] == "*"
    lo = float(pub.loc[("England", "recovery_rate"), "ci_lower"])
    hi = float(pub.loc[("England", "recovery_rate"), "ci_upper"])
    # Wilson 95% for 50/100, worked out by hand: 40.4 .. 59.6.
    assert (lo, hi) == (40.4, 59.6)


def test_mean_needs_contributors() -> None:
    counts = {g: dict(v) for g, v in COUNTS.items()}
    res = protect_measures(measures_table(counts), "sdap")
    assert _published(res, "England", "mean_sessions_finished") == "7.3"  # 7.25 half up
    # B has 20 finished: enough under sdap (10); with 9 finished it is not.
    counts["B"] = {"finished_treatment": 9, "not_at_caseness": 3, "at_caseness": 6,
                   "recovered": 4, "reliably_recovered": 3, "waited_6_weeks": 5,
                   "waited_18_weeks": 8}  # fmt: skip
    counts["England"] = {k: counts["A"][k] + counts["B"][k] for k in counts["A"]}
    res = protect_measures(measures_table(counts), "sdap")
    assert _published(res, "B", "mean_sessions_finished") == "*"
    reason = (
        res.underlying()
        .set_index(["group", "measure"])
        .loc[("B", "mean_sessions_finished"), "reason"]
    )
    assert "contributor" in reason


def test_mean_without_contributor_count_is_suppressed() -> None:
    res = protect_measures(measures_table(mean_contrib=False), "sdap")
    assert _published(res, "England", "mean_sessions_finished") == "*"


def test_zero_denominator_rate_is_missing_not_zero() -> None:
    counts = {g: dict(v) for g, v in COUNTS.items()}
    res = protect_measures(measures_table(counts), "nhs-hes")
    assert _published(res, "England", "recovery_rate") != ""
    zero = {"England": {k: 0 for k in COUNTS["England"]}}
    res0 = protect_measures(measures_table(zero), "nhs-hes")  # zeros shown under nhs-hes
    assert _published(res0, "England", "recovery_rate") == ""
    assert _published(res0, "England", "finished_treatment") == "0"


def test_groups_that_do_not_add_up_get_no_relation() -> None:
    counts = {g: dict(v) for g, v in COUNTS.items()}
    counts["B"]["recovered"] = 5  # A + B = 51 != 50: not a partition for this measure
    res = protect_measures(measures_table(counts), "sdap")
    assert res.relations_added["equalities"] == 6 + 3


def test_combined_breakdown_relations() -> None:
    rows = []
    cells = {("england", "England"): 60, ("provider", "A"): 40, ("provider", "B"): 20,
             ("sex", "F"): 35, ("sex", "M"): 25,
             ("provider x sex", "A | F"): 22, ("provider x sex", "A | M"): 18,
             ("provider x sex", "B | F"): 13, ("provider x sex", "B | M"): 7}  # fmt: skip
    for (b, g), v in cells.items():
        rows.append(_row(b, g, "referrals_received", v, "count"))
    res = protect_measures(pd.DataFrame(rows), "sdap")
    # England = A + B; England = F + M; A = AF + AM; B = BF + BM; F = AF + BF; M = AM + BM;
    # England = sum of the four combined cells.
    assert res.relations_added["equalities"] == 7
    exp = res.export()
    exp["group"] = exp["provider"].fillna("").str.cat(exp["sex"].fillna(""), sep=" | ")
    pub = exp.set_index(["breakdown", "group"])["value"]
    assert pub[("provider x sex", "B | M")] == "*"
    # B|M = B - B|F and = M - A|M: both B|F and A|M (or B and M) must be hidden.
    hidden = {k for k, v in pub.items() if v == "*"}
    assert len(hidden) >= 4
    assert res.certificate.passed


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="missing"):
        protect_measures(pd.DataFrame({"measure": ["x"]}), "sdap")
    bad = measures_table()
    bad.loc[0, "kind"] = "mode"
    with pytest.raises(ConfigError, match="mode"):
        protect_measures(bad, "sdap")
    frac = measures_table()
    frac.loc[0, "value"] = 1.5
    with pytest.raises(ConfigError, match="not whole numbers"):
        protect_measures(frac, "sdap")
    dup = pd.concat([measures_table().iloc[:1], measures_table().iloc[:1]])
    with pytest.raises(ConfigError, match="repeat a cell"):
        protect_measures(dup, "sdap")


def test_pickle_round_trip() -> None:
    import pickle

    res = protect_measures(measures_table(), "nhs-sde")
    back = pickle.loads(pickle.dumps(res))
    assert back.published().equals(res.published())
    assert dict(back.relations_added) == dict(res.relations_added)


def test_medians_publish_like_means_and_internal_values_never() -> None:
    # issue 18: medians (kind median) follow the mean rule; maxima/minima (kind internal) are
    # an individual's value and are never released
    table = measures_table()
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    _row(
                        "england",
                        "England",
                        "median_sessions_finished",
                        6.0,
                        "median",
                        denominator="finished_treatment",
                    ),
                    _row(
                        "england",
                        "England",
                        "max_sessions_finished",
                        31.0,
                        "internal",
                        denominator="finished_treatment",
                    ),
                ]
            ),
        ],
        ignore_index=True,
    )
    result = protect_measures(table, "sdap")
    assert float(_published(result, "England", "median_sessions_finished")) == 6.0
    assert _published(result, "England", "max_sessions_finished") == "*"


def test_progress_tells_every_stage_and_changes_no_published_value() -> None:
    from iaptkit.sdc.solve import STAGES

    seen: list[tuple[str, int, int]] = []
    told = protect_measures(measures_table(), "nhs-sde", progress=lambda *a: seen.append(a))
    quiet = protect_measures(measures_table(), "nhs-sde")
    pd.testing.assert_frame_equal(told.export(), quiet.export())
    assert (told.export()["value"] == "*").any()  # something to protect, so every stage ran
    stages = [s for s, _, _ in seen]
    assert {"attack", "secondary", "audit", "rates"} <= set(stages)
    assert set(stages) <= set(STAGES)
    for stage in ("audit", "rates"):
        last = [x for x in seen if x[0] == stage][-1]
        assert last[1] == last[2], (stage, last)
    # the integer audit of rates and means comes after the counts' own audit
    assert max(k for k, s in enumerate(stages) if s == "audit") < stages.index("rates")
