"""Rates, Wilson intervals and funnel-plot limits (iaptkit.measures.statistics).

Expected values are computed independently: by statsmodels' Wilson interval, by the formula
written out here, by a brute-force binomial search written here, and from the published national
figures (NHS Talking Therapies / IAPT annual reports, England, copied below).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from iaptkit.errors import ConfigError
from iaptkit.measures.statistics import (
    NORMAL_QUANTILES,
    flag_outliers,
    funnel_limits,
    rate,
    wilson_interval,
)

#: England, NHS Talking Therapies / IAPT annual reports (published annual main CSVs, NHS Digital /
#: NHS England): the counts and the published rates (per cent, one decimal). The recovery rate is
#: recovered / (finished_treatment - not_at_caseness).
NATIONAL_ANNUAL_FIGURES = """\
year,finished_treatment,not_at_caseness,recovery_rate,reliable_improvement_rate,reliable_recovery_rate,reliable_deterioration_rate,waited_6_weeks_rate,waited_18_weeks_rate,recovered,reliably_recovered,reliably_improved,reliably_deteriorated,waited_6_weeks,waited_18_weeks
2017-18,554709,36767,50.8,66.4,48.3,5.9,89.1,98.8,263295,250395,368518,32931,494021,548300
2018-19,582556,35706,52.1,67.4,49.5,5.8,89.4,99.0,284810,270763,392662,33660,520794,576792
2019-20,606192,36054,51.1,67.0,48.5,5.8,87.4,98.4,291371,276261,406118,35316,529984,596324
2020-21,634649,37267,51.4,68.3,48.7,5.4,90.0,98.0,306990,291091,433327,34535,571035,622012
2021-22,664087,38168,50.2,66.9,47.3,5.8,91.1,98.6,313919,296070,444555,38267,605241,655033
2022-23,672193,37805,49.9,66.5,46.8,5.9,89.3,98.3,316251,297186,446968,39919,600286,661005
2023-24,671648,37164,50.1,66.8,47.1,5.9,90.5,98.4,318013,298780,448634,39870,607635,661078
2024-25,670419,35234,50.5,67.5,47.5,5.8,91.6,98.7,321061,301815,452284,39157,614104,661723
"""


def _round_half_up(x: float, digits: int = 1) -> float:
    q = 10**digits
    return math.floor(x * q + 0.5) / q


# --------------------------------------------------------------------------- published arithmetic


def test_june_2020_recovery_rate_is_51_8() -> None:
    # docs/measures.md §2: 57,060 finished, 3,200 not at caseness, 27,884 recovered.
    value = float(rate(27_884, 57_060 - 3_200))
    assert _round_half_up(value) == 51.8
    assert value == pytest.approx(27_884 / 53_860 * 100)


def test_june_2020_reliable_improvement_rate_is_69_1() -> None:
    value = float(rate(39_417, 57_060))
    assert _round_half_up(value) == 69.1


def _annual_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(NATIONAL_ANNUAL_FIGURES)))


def test_the_national_figures_are_eight_years() -> None:
    assert [r["year"] for r in _annual_rows()] == [
        f"{y}-{(y + 1) % 100:02d}" for y in range(2017, 2025)
    ]


@pytest.mark.parametrize("row", _annual_rows(), ids=lambda r: r["year"])
def test_national_annual_recovery_rate_recomputed_from_counts(row: dict[str, str]) -> None:
    at_caseness = int(row["finished_treatment"]) - int(row["not_at_caseness"])
    recovery = float(rate(int(row["recovered"]), at_caseness))
    assert _round_half_up(recovery) == float(row["recovery_rate"])
    reliable_recovery = float(rate(int(row["reliably_recovered"]), at_caseness))
    assert abs(reliable_recovery - float(row["reliable_recovery_rate"])) <= 0.051


@pytest.mark.parametrize("row", _annual_rows(), ids=lambda r: r["year"])
def test_national_annual_finished_rates_recomputed_from_counts(row: dict[str, str]) -> None:
    finished = int(row["finished_treatment"])
    for count, published in (
        ("reliably_improved", "reliable_improvement_rate"),
        ("reliably_deteriorated", "reliable_deterioration_rate"),
        ("waited_6_weeks", "waited_6_weeks_rate"),
        ("waited_18_weeks", "waited_18_weeks_rate"),
    ):
        value = float(rate(int(row[count]), finished))
        assert abs(value - float(row[published])) <= 0.051, (count, value, row[published])


# --------------------------------------------------------------------------- rate


def test_rate_zero_denominator_is_missing_not_zero() -> None:
    out = rate([0, 3, 5], [0, 0, 10])
    assert math.isnan(out[0])
    assert math.isnan(out[1])
    assert out[2] == 50.0


def test_rate_per_one_gives_a_proportion() -> None:
    assert float(rate(1, 4, per=1.0)) == 0.25


# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(("x", "n"), [(0, 1), (0, 10), (1, 10), (5, 10), (10, 10), (27884, 53860)])
def test_wilson_matches_statsmodels(x: int, n: int) -> None:
    lo, hi = wilson_interval(x, n, per=1.0)
    exp_lo, exp_hi = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert float(lo) == pytest.approx(exp_lo, abs=1e-12)
    assert float(hi) == pytest.approx(exp_hi, abs=1e-12)


@pytest.mark.parametrize("level", sorted(NORMAL_QUANTILES))
def test_normal_quantiles_are_scipys_to_the_last_bit(level: float) -> None:
    # the table saves importing scipy; both ways scipy computes the two-sided quantile
    assert NORMAL_QUANTILES[level] == float(stats.norm.ppf(0.5 + level / 2.0))
    assert NORMAL_QUANTILES[level] == float(stats.norm.isf((1.0 - level) / 2.0))


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99, 0.998])
def test_wilson_is_statsmodels_to_the_last_bit(level: float) -> None:
    # computed without statsmodels (its import is seconds of every command): the same floats
    rng = np.random.default_rng(7)
    n = rng.integers(1, 10**7, size=20_000)
    n[:2_000] = rng.integers(1, 20, size=2_000)
    x = np.floor(rng.random(n.size) * (n + 1)).astype(np.int64)
    x[:100], x[100:200] = 0, n[100:200]
    lo, hi = wilson_interval(x, n, level=level, per=1.0)
    exp_lo, exp_hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    inner = (x > 0) & (x < n)  # the edges are set exactly (the next test)
    assert np.array_equal(lo[inner], exp_lo[inner])
    assert np.array_equal(hi[inner], exp_hi[inner])
    assert inner.sum() > 19_000


def test_wilson_formula_by_hand_for_3_of_12_at_99_percent() -> None:
    z = stats.norm.ppf(0.995)
    p, n = 3 / 12, 12
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson_interval(3, 12, level=0.99)
    assert float(lo) == pytest.approx((centre - half) * 100)
    assert float(hi) == pytest.approx((centre + half) * 100)


@pytest.mark.parametrize("level", [0.95, 0.99, 0.998])
def test_wilson_edges_match_statsmodels_and_are_exact(level: float) -> None:
    # x = 0 and x = n, small and large n, vectorised in one call
    x = np.array([0, 0, 0, 1, 7, 1_000, 53_860])
    n = np.array([1, 7, 1_000, 1, 7, 1_000, 53_860])
    lo, hi = wilson_interval(x, n, level=level, per=1.0)
    exp_lo, exp_hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose(lo, exp_lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hi, exp_hi, rtol=0, atol=1e-12)
    assert lo[:3].tolist() == [0.0, 0.0, 0.0]  # no successes: the lower bound is 0
    assert hi[3:].tolist() == [1.0, 1.0, 1.0, 1.0]  # all successes: the upper bound is 1
    assert np.all(hi[:3] > 0)
    assert np.all(lo[3:] < 1)


def test_wilson_zero_denominator_is_missing_and_vectorised() -> None:
    lo, hi = wilson_interval(np.array([0, 2]), np.array([0, 4]))
    assert np.isnan(lo[0])
    assert np.isnan(hi[0])
    assert lo[1] < 50 < hi[1]


def test_wilson_rejects_bad_level() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        wilson_interval(1, 2, level=95)


# --------------------------------------------------------------------------- funnel limits


def _spiegelhalter_by_search(n: int, theta: float, p: float) -> float:
    """Appendix A.1.1 of Spiegelhalter (2005), written as a plain search over r."""
    cdf = [stats.binom.cdf(r, n, theta) for r in range(n + 1)]
    r_p = next(r for r in range(n + 1) if cdf[r] >= p)
    below = cdf[r_p - 1] if r_p > 0 else 0.0
    alpha = (cdf[r_p] - p) / (cdf[r_p] - below)
    return (r_p - alpha) / n


@pytest.mark.parametrize(("n", "theta"), [(20, 0.5), (57, 0.52), (400, 0.05), (1000, 0.9)])
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_exact_funnel_limits_match_a_direct_search(n: int, theta: float, level: float) -> None:
    lo, hi = funnel_limits([n], theta, level=level)
    assert lo[0] == pytest.approx(100 * _spiegelhalter_by_search(n, theta, (1 - level) / 2))
    assert hi[0] == pytest.approx(100 * _spiegelhalter_by_search(n, theta, (1 + level) / 2))


def test_normal_funnel_limits_formula() -> None:
    lo, hi = funnel_limits([400], 0.5, level=0.998, method="normal")
    half = stats.norm.ppf(0.999) * math.sqrt(0.25 / 400)
    assert lo[0] == pytest.approx(100 * (0.5 - half))
    assert hi[0] == pytest.approx(100 * (0.5 + half))


def test_funnel_narrows_with_denominator_and_998_is_wider_than_95() -> None:
    n = np.array([50, 500, 5000])
    lo95, hi95 = funnel_limits(n, 0.5, level=0.95)
    lo998, hi998 = funnel_limits(n, 0.5, level=0.998)
    assert np.all(np.diff(hi95 - lo95) < 0)
    assert np.all(lo998 < lo95)
    assert np.all(hi998 > hi95)


def test_funnel_zero_denominator_and_bad_inputs() -> None:
    lo, hi = funnel_limits([0], 0.5)
    assert np.isnan(lo[0])
    assert np.isnan(hi[0])
    with pytest.raises(ConfigError, match="proportion"):
        funnel_limits([10], 52.0)
    with pytest.raises(ConfigError, match="method"):
        funnel_limits([10], 0.5, method="poisson")  # type: ignore[arg-type]


def test_flag_outliers_against_limits_computed_here() -> None:
    table = pd.DataFrame(
        {
            "provider": ["A", "B", "C", "D", "E"],
            "numerator": [500, 440, 560, 10, 0],
            "denominator": [1000, 1000, 1000, 20, 0],
        }
    )
    out = flag_outliers(table, target=0.5)
    # 1000 at theta 0.5: 95 % limits about 46.9-53.1, 99.8 % about 45.1-54.9.
    assert out["flag"].tolist() == [
        "within",
        "low (99.8%)",
        "high (99.8%)",
        "within",
        "no denominator",
    ]
    lo95, hi95 = funnel_limits([1000], 0.5, level=0.95)
    assert out.loc[0, "lower_95"] == pytest.approx(lo95[0])
    assert out.loc[0, "upper_95"] == pytest.approx(hi95[0])


def test_flag_outliers_warning_band_and_pooled_target() -> None:
    # Pooled target 50 %; at n = 1000 the 95 % limits are about 46.9/53.1 and the 99.8 %
    # limits about 45.1/54.9, so 46 % and 54 % are warnings, not alarms.
    table = pd.DataFrame({"numerator": [460, 540, 500], "denominator": [1000, 1000, 1000]})
    out = flag_outliers(table)
    assert out["target"].iloc[0] == pytest.approx(50.0)
    assert out["flag"].tolist() == ["low (95%)", "high (95%)", "within"]
    assert out["rate"].tolist() == [46.0, 54.0, 50.0]


def test_flag_outliers_missing_column() -> None:
    with pytest.raises(ConfigError, match="expected a column 'numerator'"):
        flag_outliers(pd.DataFrame({"denominator": [1]}))
