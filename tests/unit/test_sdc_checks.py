"""Unit tests of iaptkit.sdc.checks: magnitude (dominance, p%), summaries and regressions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from iaptkit.errors import ConfigError
from iaptkit.sdc.checks import (
    CheckResult,
    CheckRules,
    check_magnitude,
    check_regression,
    check_summary,
    summarise,
)

SDAP = CheckRules(
    "sdap",
    "1",
    threshold=10,
    min_contributors=10,
    dominance_n=2,
    dominance_k=90.0,
    p_percent=10.0,
    min_residual_df=10,
)
COUNTS_ONLY = CheckRules("counts", "1", threshold=10, min_contributors=10)


def _cells(**cells: list[float]) -> pd.DataFrame:
    """Microdata: one row per contribution, cell name -> contributions."""
    rows = [(name, v) for name, values in cells.items() for v in values]
    return pd.DataFrame(rows, columns=["provider", "sessions"])


# --------------------------------------------------------------------------- magnitude


def test_magnitude_dominance_boundary_and_p_percent() -> None:
    data = _cells(
        even=[10.0] * 10,  # top 2 = 20 % of 100; p margin = 80/10 = 800 %
        at_k=[45.0, 45.0] + [1.25] * 8,  # top 2 = exactly 90 % -> allowed (rule is "more than")
        over_k=[46.0, 45.0] + [1.125] * 8,  # top 2 = 91/100 = 91 % -> fails dominance
        p_only=[50.0, 1.0] + [0.5] * 8,  # top2 = 51/55 = 92.7 %, p margin = 4/50 = 8 %
    )
    result = check_magnitude(data, ["provider"], "sessions", policy=SDAP)
    mask = result.mask.set_index("provider")
    assert result.status == "fail"
    assert mask.loc["even", "top_n_share"] == pytest.approx(20.0)
    assert mask.loc["even", "p_margin"] == pytest.approx(800.0)
    assert mask.loc["at_k", "top_n_share"] == pytest.approx(90.0)
    assert not mask.loc["at_k", "offending"]
    assert mask.loc["over_k", "top_n_share"] == pytest.approx(91.0)
    assert mask.loc["over_k", "offending"]
    assert "dominance" in mask.loc["over_k", "reason"]
    assert mask.loc["p_only", "p_margin"] == pytest.approx(8.0)
    assert "p% rule" in mask.loc["p_only", "reason"]
    assert mask["contributors"].tolist() == [10, 10, 10, 10]
    assert sorted(mask.index[mask["offending"]]) == ["over_k", "p_only"]
    assert len(result.reasons) == 2


def test_magnitude_small_cell_and_contributor_aggregation() -> None:
    # Person p1 has three rows in cell A: they are one contributor of 30 sessions.
    data = pd.DataFrame(
        {
            "provider": ["A"] * 12 + ["B"] * 9,
            "person": [
                "p1",
                "p1",
                "p1",
                *[f"a{i}" for i in range(9)],
                *[f"b{i}" for i in range(9)],
            ],
            "sessions": [10] * 3 + [10] * 9 + [3] * 9,
        }
    )
    result = check_magnitude(data, ["provider"], "sessions", contributor="person", policy=SDAP)
    mask = result.mask.set_index("provider")
    assert mask.loc["A", "contributors"] == 10
    assert mask.loc["A", "top_n_share"] == pytest.approx(100 * 40 / 120)
    assert not mask.loc["A", "offending"]
    assert mask.loc["B", "contributors"] == 9
    assert "fewer than the threshold 10" in mask.loc["B", "reason"]
    assert result.status == "fail"


def test_magnitude_without_dominance_rules_is_review() -> None:
    data = _cells(A=[100.0] + [1.0] * 9)
    result = check_magnitude(data, ["provider"], "sessions", policy=COUNTS_ONLY)
    assert result.status == "review"
    assert "no dominance" in result.reasons[0]
    assert not result.mask["offending"].any()


def test_magnitude_rejects_negative_values() -> None:
    data = _cells(A=[5.0, -1.0])
    with pytest.raises(ConfigError, match="non-negative"):
        check_magnitude(data, ["provider"], "sessions", policy=SDAP)


def test_magnitude_missing_column_names_it() -> None:
    with pytest.raises(ConfigError, match="missing \\['region'\\]"):
        check_magnitude(_cells(A=[1.0]), ["region"], "sessions", policy=SDAP)


# --------------------------------------------------------------------------- summaries


def test_summary_threshold_boundary_and_min_max() -> None:
    data = pd.DataFrame({"g": ["nine"] * 9 + ["ten"] * 10, "wait": range(19)})
    result = check_summary(data, "wait", dims=["g"], statistics=["mean", "max"], policy=SDAP)
    mask = result.mask.set_index(["g", "statistic"])["offending"]
    assert mask.to_dict() == {
        ("nine", "mean"): True,
        ("nine", "max"): True,
        ("ten", "mean"): False,
        ("ten", "max"): True,
    }
    assert result.status == "fail"
    assert any("never released" in r for r in result.reasons)


def test_summary_missing_values_do_not_count() -> None:
    data = pd.DataFrame({"wait": [1.0] * 9 + [None] * 5})
    result = check_summary(data, "wait", policy=SDAP)
    assert result.mask["contributors"].tolist() == [9, 9]
    assert result.status == "fail"


def test_summary_unknown_statistic() -> None:
    with pytest.raises(ConfigError, match="unknown statistics"):
        check_summary(pd.DataFrame({"x": [1]}), "x", statistics=["mode"], policy=SDAP)


def test_summarise_values_computed_and_blanked() -> None:
    data = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 4, "wait": [*range(1, 11), 5, 5, 5, 5]})
    table, result = summarise(data, "wait", dims=["g"], statistics=["mean", "median"], policy=SDAP)
    got = table.set_index(["g", "statistic"])["value"].to_dict()
    assert got == {
        ("a", "mean"): "5.5",
        ("a", "median"): "5.5",
        ("b", "mean"): "*",
        ("b", "median"): "*",
    }
    assert set(table["policy_id"]) == {"sdap"}
    assert result.status == "fail"


# --------------------------------------------------------------------------- regression


def _logit_data(n_small: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    group = np.array(["big1"] * (n // 2) + ["big2"] * (n // 2) + ["small"] * n_small)
    x = rng.normal(size=len(group))
    y = (rng.random(len(group)) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "group": group})


def test_regression_small_category_marks_its_coefficient() -> None:
    data = _logit_data(n_small=9)
    fit = smf.logit("y ~ x + C(group)", data=data).fit(disp=0)
    result = check_regression(fit, data, categorical=["group"], policy=SDAP)
    assert result.status == "fail"
    offending = result.mask.loc[result.mask["offending"], "term"].tolist()
    assert offending == ["C(group)[T.small]"]
    people = result.mask.set_index("term")["people"]
    assert people["C(group)[T.small]"] == 9
    assert people["C(group)[T.big2]"] == 150


def test_regression_passes_at_threshold() -> None:
    data = _logit_data(n_small=10)
    fit = smf.logit("y ~ x + C(group)", data=data).fit(disp=0)
    result = check_regression(fit, data, categorical=["group"], policy=SDAP)
    assert result == CheckResult(result.name, "pass", (), result.mask)
    assert not result.mask["offending"].any()


def test_regression_counts_only_rows_used_by_the_model() -> None:
    data = _logit_data(n_small=12)
    data.loc[data.index[-3:], "x"] = np.nan  # 3 'small' rows dropped by the model -> 9 used
    fit = smf.logit("y ~ x + C(group)", data=data).fit(disp=0)
    result = check_regression(fit, data, categorical=["group"], policy=SDAP)
    assert result.mask.set_index("term").loc["C(group)[T.small]", "people"] == 9
    assert result.status == "fail"


def test_regression_small_reference_category_marks_intercept() -> None:
    data = _logit_data(n_small=0)
    data.loc[data.index[:5], "group"] = "a_ref"  # sorts first -> reference level, 5 people
    fit = smf.logit("y ~ x + C(group)", data=data).fit(disp=0)
    result = check_regression(fit, data, categorical=["group"], policy=SDAP)
    offending = set(result.mask.loc[result.mask["offending"], "term"])
    assert offending == {"Intercept", "C(group)[T.big1]", "C(group)[T.big2]"}


def test_regression_residual_df() -> None:
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.normal(size=12)})
    data["y"] = data["x"] + rng.normal(size=12)
    fit = smf.ols("y ~ x", data=data).fit()  # 12 - 2 = 10 residual df
    assert fit.df_resid == 10
    assert check_regression(fit, policy=SDAP).status == "pass"
    strict = CheckRules("s", "1", threshold=10, min_contributors=10, min_residual_df=11)
    result = check_regression(fit, policy=strict)
    assert result.status == "fail"
    assert result.mask["offending"].all()
    assert "10 residual degrees of freedom, fewer than 11" in result.reasons[0]
    assert check_regression(fit, policy=COUNTS_ONLY).status == "review"


def test_regression_categorical_without_data_is_an_error() -> None:
    data = _logit_data(n_small=10)
    fit = smf.logit("y ~ x + C(group)", data=data).fit(disp=0)
    with pytest.raises(ConfigError, match="no data"):
        check_regression(fit, categorical=["group"], policy=SDAP)


# --------------------------------------------------------------------------- policy reading


def test_rules_from_flat_and_nested_policy_objects() -> None:
    flat = SimpleNamespace(
        id="x",
        version="2",
        threshold=7,
        dominance_n=3,
        dominance_k=80,
        p_percent=5,
        min_residual_df=20,
    )
    rules = CheckRules.from_policy(flat)
    assert rules == CheckRules("x", "2", 7, 7, 3, 80.0, 5.0, 20)
    nested = SimpleNamespace(
        id="y",
        version="1",
        threshold=10,
        min_contributors=12,
        dominance=SimpleNamespace(n=2, k=90),
        regression={"min_residual_df": 10},
    )
    rules = CheckRules.from_policy(nested)
    assert (rules.min_contributors, rules.dominance_n, rules.dominance_k) == (12, 2, 90.0)
    assert rules.min_residual_df == 10
    assert rules.p_percent is None


def test_rules_need_a_threshold() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        CheckRules.from_policy(SimpleNamespace(id="bad"))


def test_to_dict_counts_offending() -> None:
    result = check_magnitude(_cells(A=[100.0] + [1.0] * 9), ["provider"], "sessions", policy=SDAP)
    assert result.to_dict() == {
        "name": "magnitude table",
        "status": "fail",
        "reasons": list(result.reasons),
        "offending": 1,
    }


def test_packaged_sdap_policy_drives_the_checks() -> None:
    from iaptkit.sdc import load_policy

    policy = load_policy("sdap")
    rules = CheckRules.from_policy(policy)
    assert rules == CheckRules(policy.id, policy.version, 10, 10, 2, 90.0, 10.0, 10, 1)
    assert CheckRules.from_policy(load_policy("nhs-sde")).rounding_base == 5
    data = _cells(A=[46.0, 45.0] + [1.125] * 8)
    assert check_magnitude(data, ["provider"], "sessions", policy="sdap").status == "fail"


def test_summarise_does_not_export_contributor_counts() -> None:
    rules = CheckRules("r5", "1", threshold=10, min_contributors=10, rounding_base=5)
    data = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 13 + ["c"] * 9, "x": [1.0] * 34})
    table, result = summarise(data, "x", dims=["g"], statistics=["mean"], policy=rules)
    assert list(table.columns) == ["g", "statistic", "value", "policy_id", "policy_version"]
    assert table["value"].tolist() == ["1.0", "1.0", "*"]
    assert result.mask["contributors"].tolist() == [12, 13, 9]
