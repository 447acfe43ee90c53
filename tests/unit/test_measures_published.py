"""Published measures from a pathway table (iaptkit.measures.published).

A random pathway table is built here; every count, rate, bound and mean is recomputed
independently with plain pandas (and statsmodels for the Wilson bounds) and compared.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from iaptkit.errors import ConfigError, IaptkitError
from iaptkit.measures.catalogue import LONG_COLUMNS, MEASURES, PublishedParameters
from iaptkit.measures.published import measures_from_pathways

START, END = date(2023, 4, 1), date(2024, 3, 31)
FLAGS = (
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
    "ReliableRecovery_Flag",
)


def random_pathways(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = date(2022, 10, 1)

    def dates(offsets: np.ndarray, missing: np.ndarray) -> list[date | None]:
        return [
            None if m else base + timedelta(days=int(o))
            for o, m in zip(offsets, missing, strict=True)
        ]

    ref = rng.integers(0, 600, n)
    first = ref + rng.integers(0, 200, n)
    second = first + rng.integers(0, 150, n)
    disch = second + rng.integers(0, 300, n)
    no_treat = rng.random(n) < 0.3
    one_session = rng.random(n) < 0.1
    open_ = rng.random(n) < 0.25
    sessions = np.where(no_treat, 0, np.where(one_session, 1, rng.integers(2, 20, n)))
    completed = ~open_ & (sessions >= 2)
    frame = pd.DataFrame(
        {
            "PathwayID": [f"PW{i:06d}" for i in range(n)],
            "provider": rng.choice(["R1A", "R2B", "RX9"], n),
            "commissioner": rng.choice(["C01", "C02"], n),
            "age_band": rng.choice(["18-25", "26-64", "65-74", "Unknown"], n),
            "gender": rng.choice(["Male", "Female", "Other or not known"], n),
            "ethnic_group": rng.choice(["White", "Asian", "Not stated"], n),
            "imd_decile": rng.choice([str(i) for i in range(1, 11)] + ["Unknown"], n),
            "ProblemDescriptor": rng.choice(["Depression", "Panic disorder"], n),
            "ReferralRequestReceivedDate": dates(ref, np.zeros(n, bool)),
            "ServDischDate": dates(disch, open_),
            "TherapySession_FirstDate": dates(first, no_treat),
            "TherapySession_SecondDate": dates(second, no_treat | one_session),
            "TreatmentCareContact_Count": sessions.astype("int64"),
            "CompletedTreatment_Flag": completed,
            "wait_to_first_treatment": pd.Series(first - ref, dtype="Int64").mask(no_treat),
        }
    )
    paired = completed & (rng.random(n) < 0.9)
    not_case = completed & (rng.random(n) < 0.06)
    recovery = paired & ~not_case & (rng.random(n) < 0.5)
    change = rng.choice(["imp", "det", "none"], n, p=[0.67, 0.06, 0.27])
    frame["NotCaseness_Flag"] = not_case
    frame["Recovery_Flag"] = recovery
    frame["ReliableImprovement_Flag"] = paired & (change == "imp")
    frame["ReliableDeterioration_Flag"] = paired & (change == "det")
    frame["NoChange_Flag"] = paired & (change == "none")
    frame["ReliableRecovery_Flag"] = recovery & (change == "imp")
    return frame


def expected_counts(p: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Plain pandas, straight from docs/measures.md §2."""

    def within(col: str) -> pd.Series:
        d = pd.to_datetime(p[col])
        return (d >= pd.Timestamp(START)) & (d <= pd.Timestamp(END))

    finished = within("ServDischDate") & p["CompletedTreatment_Flag"]
    not_case = finished & p["NotCaseness_Flag"]
    wait = p["wait_to_first_treatment"].astype("float")
    second = within("TherapySession_SecondDate")
    gap = (
        pd.to_datetime(p["TherapySession_SecondDate"])
        - pd.to_datetime(p["TherapySession_FirstDate"])
    ).dt.days
    cohorts = pd.DataFrame(
        {
            "referrals_received": within("ReferralRequestReceivedDate"),
            "entered_treatment": within("TherapySession_FirstDate"),
            "ended_referrals": within("ServDischDate"),
            "finished_treatment": finished,
            "not_at_caseness": not_case,
            "at_caseness": finished & ~not_case,
            "recovered": finished & p["Recovery_Flag"],
            "reliably_improved": finished & p["ReliableImprovement_Flag"],
            "reliably_deteriorated": finished & p["ReliableDeterioration_Flag"],
            "no_reliable_change": finished & p["NoChange_Flag"],
            "reliably_recovered": finished & p["ReliableRecovery_Flag"],
            "waited_6_weeks": finished & (wait <= 42),
            "waited_18_weeks": finished & (wait <= 126),
            "second_treatment": second,
            "first_to_second_over_90_days": second & (gap > 90),
        }
    ).astype("int64")
    cohorts["sessions"] = np.where(finished, p["TreatmentCareContact_Count"], 0)
    return cohorts.groupby(key.to_numpy()).sum()


@pytest.fixture(scope="module")
def pathways() -> pd.DataFrame:
    return random_pathways(3000)


@pytest.fixture(scope="module")
def published(pathways: pd.DataFrame) -> pd.DataFrame:
    return measures_from_pathways(
        pathways,
        START,
        END,
        ["england", "provider", "imd_decile", "provider x age_band", "problem_descriptor"],
        definitions_version="test-v1",
    )


def _value(out: pd.DataFrame, breakdown: str, group: str, measure: str) -> pd.Series:
    row = out[(out.breakdown == breakdown) & (out.group == group) & (out.measure == measure)]
    assert len(row) == 1, (breakdown, group, measure)
    return row.iloc[0]


@pytest.mark.parametrize(
    ("breakdown", "key"),
    [
        ("england", lambda p: pd.Series("England", index=p.index)),
        ("provider", lambda p: p["provider"]),
        ("imd_decile", lambda p: p["imd_decile"]),
        ("provider x age_band", lambda p: p["provider"] + " | " + p["age_band"]),
        ("problem_descriptor", lambda p: p["ProblemDescriptor"]),
    ],
)
def test_counts_rates_and_means_match_pandas(
    pathways: pd.DataFrame, published: pd.DataFrame, breakdown: str, key: object
) -> None:
    exp = expected_counts(pathways, key(pathways))  # type: ignore[operator]
    got = published[published.breakdown == breakdown]
    assert set(got.group) == set(exp.index)
    for group, row in exp.iterrows():
        for spec in MEASURES:
            r = _value(got, breakdown, str(group), spec.name)
            if spec.kind == "count":
                assert r.value == row[spec.name], (group, spec.name)
                assert np.isnan(r.ci_lower)
            elif spec.kind == "rate":
                num, den = row[spec.numerator], row[spec.denominator]
                if den == 0:
                    assert np.isnan(r.value)
                    continue
                assert r.value == pytest.approx(100 * num / den)
                lo, hi = proportion_confint(num, den, method="wilson")
                assert r.ci_lower == pytest.approx(100 * lo)
                assert r.ci_upper == pytest.approx(100 * hi)
                assert (r.numerator, r.denominator) == (spec.numerator, spec.denominator)
            else:
                fin = row["finished_treatment"]
                expected = row["sessions"] / fin if fin else np.nan
                assert r.value == pytest.approx(expected, nan_ok=True)


def test_long_table_shape_order_and_version(published: pd.DataFrame) -> None:
    assert tuple(published.columns) == LONG_COLUMNS
    assert set(published.definitions_version) == {"test-v1"}
    assert set(published.period_start) == {START}
    assert set(published.period_end) == {END}
    # breakdowns in the order requested, measures in publication order within each group
    order = list(dict.fromkeys(published.breakdown))
    assert order == [
        "england",
        "provider",
        "imd_decile",
        "provider x age_band",
        "problem_descriptor",
    ]
    imd = list(dict.fromkeys(published[published.breakdown == "imd_decile"].group))
    assert imd == [*(str(i) for i in range(1, 11)), "Unknown"]
    first_group = published[published.group == "England"]
    assert first_group.measure.tolist() == [m.name for m in MEASURES]
    assert set(published[published.kind == "count"].value.map(float.is_integer)) == {True}


def test_same_input_same_output(pathways: pd.DataFrame, published: pd.DataFrame) -> None:
    again = measures_from_pathways(
        pathways.sample(frac=1.0, random_state=3),
        START,
        END,
        ["england", "provider", "imd_decile", "provider x age_band", "problem_descriptor"],
        definitions_version="test-v1",
    )
    pd.testing.assert_frame_equal(again, published)


def test_groups_sum_to_england_for_partitioning_breakdowns(published: pd.DataFrame) -> None:
    counts = published[published.kind == "count"]
    england = counts[counts.breakdown == "england"].set_index("measure").value
    for bd in ("provider", "imd_decile", "provider x age_band"):
        sums = counts[counts.breakdown == bd].groupby("measure").value.sum()
        pd.testing.assert_series_equal(sums.sort_index(), england.sort_index(), check_names=False)


def test_zero_denominator_gives_missing_rate_and_mean() -> None:
    p = random_pathways(50).assign(CompletedTreatment_Flag=False)
    out = measures_from_pathways(p, START, END, "england", definitions_version="v")
    for name in ("recovery_rate", "reliable_improvement_rate", "mean_sessions_finished"):
        r = _value(out, "england", "England", name)
        assert np.isnan(r.value)
    assert _value(out, "england", "England", "finished_treatment").value == 0


def test_empty_pathway_table_still_gives_england_zeros() -> None:
    p = random_pathways(10).iloc[0:0]
    out = measures_from_pathways(p, START, END, "england,provider", definitions_version="v")
    assert set(out.breakdown) == {"england"}
    counts = out[out.kind == "count"]
    assert counts.value.tolist() == [0.0] * len(counts)


def test_wait_and_gap_thresholds_come_from_parameters() -> None:
    p = random_pathways(400)
    params = PublishedParameters(wait_short_days=10, wait_long_days=30, first_to_second_days=7)
    out = measures_from_pathways(p, START, END, "england", definitions_version="v", params=params)
    d = pd.to_datetime(p["ServDischDate"])
    finished = (d >= pd.Timestamp(START)) & (d <= pd.Timestamp(END)) & p.CompletedTreatment_Flag
    wait = p["wait_to_first_treatment"].astype(float)
    s2 = pd.to_datetime(p["TherapySession_SecondDate"])
    s1 = pd.to_datetime(p["TherapySession_FirstDate"])
    second = (s2 >= pd.Timestamp(START)) & (s2 <= pd.Timestamp(END))
    assert (
        _value(out, "england", "England", "waited_6_weeks").value == (finished & (wait <= 10)).sum()
    )
    assert (
        _value(out, "england", "England", "waited_18_weeks").value
        == (finished & (wait <= 30)).sum()
    )
    assert (
        _value(out, "england", "England", "first_to_second_over_90_days").value
        == (second & ((s2 - s1).dt.days > 7)).sum()
    )


def test_duplicate_pathway_rows_are_an_error() -> None:
    p = random_pathways(20)
    with pytest.raises(IaptkitError, match="one row per PathwayID"):
        measures_from_pathways(
            pd.concat([p, p.iloc[:1]]), START, END, "england", definitions_version="v"
        )


def test_missing_columns_and_bad_requests_are_user_errors() -> None:
    p = random_pathways(20)
    with pytest.raises(IaptkitError, match="expected columns"):
        measures_from_pathways(
            p.drop(columns=["provider"]), START, END, "provider", definitions_version="v"
        )
    with pytest.raises(ConfigError, match="unknown name 'postcode'"):
        measures_from_pathways(p, START, END, "england,postcode", definitions_version="v")
    with pytest.raises(ConfigError, match="before the start"):
        measures_from_pathways(p, END, START, "england", definitions_version="v")


def test_null_group_values_are_counted_under_unknown() -> None:
    p = random_pathways(30)
    p.loc[p.index[:5], "provider"] = None
    out = measures_from_pathways(p, START, END, "england,provider", definitions_version="v")
    prov = out[(out.breakdown == "provider") & (out.measure == "referrals_received")]
    eng = _value(out, "england", "England", "referrals_received").value
    assert "Unknown" in set(prov.group)
    assert prov.value.sum() == eng
