"""Spec: the safe-analysis calls of Release (docs/safe-analysis.md), one policy rule at a time.

Tiny inline tables; published values are compared with what the policy says they must be.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from iaptkit.release import Release


def rows(spec: str) -> pd.DataFrame:
    """``"A x 12; B x 3"`` style: one person-level row per count, columns g/h."""
    out = []
    for part in spec.split(";"):
        g, h, n = part.split()
        out += [{"g": g, "h": h}] * int(n)
    return pd.DataFrame(out)


@pytest.fixture
def rel(tmp_path: Path) -> Release:
    return Release.open_or_create(tmp_path / "rel", title="spec", analyst="A")


def exported(rel: Release, uid: str) -> pd.DataFrame:
    return pd.read_csv(rel.path / "outputs" / f"{uid}.csv", dtype=str)


# --------------------------------------------------------------------------- crosstab counts


def test_crosstab_small_cells_publishes_none_of_them_and_passes_the_audit(rel: Release) -> None:
    df = rows("A x 30; A y 25; B x 4; B y 40; C x 20; C y 22")
    table = rel.crosstab(df.g, df.h, margins=True, policy="sdap", name="ct")
    truth = pd.crosstab(df.g, df.h, margins=True)
    assert np.isnan(table.loc["B", "x"])
    # every published cell equals the true count (sdap does not round); hidden cells are
    # the small one and what protects it
    shown = table.stack().dropna()
    assert len(shown) >= 6
    for (g, h), v in shown.items():
        assert v == truth.loc[g, h]
    out = rel.output("ct")
    assert out.status == "pass"
    assert out.audit is not None
    assert out.audit["passed"] is True
    csv = exported(rel, "ct")
    assert "4" not in csv["value"].tolist()
    # the true counts stay inside
    inside = pd.read_csv(rel.path / "internal" / "ct.underlying.csv")
    assert 4 in inside["value"].tolist()


def test_crosstab_rounds_under_nhs_sde(rel: Release) -> None:
    df = rows("A x 32; A y 27; B x 41; B y 44")
    table = rel.crosstab(df.g, df.h, policy="nhs-sde", name="r")
    assert table.loc["A", "x"] == 30
    assert table.loc["A", "y"] == 25
    assert table.loc["B", "x"] == 40
    assert table.loc["B", "y"] == 45
    assert rel.output("r").policy_id == "nhs-sde"


def test_crosstab_suppress_false_comes_back_and_fails(rel: Release) -> None:
    df = rows("A x 30; A y 3")
    table = rel.crosstab(df.g, df.h, policy="sdap", suppress=False, name="raw")
    assert table.loc["A", "y"] == 3
    out = rel.output("raw")
    assert out.status == "fail"
    assert any("threshold" in r for r in out.reasons)


def test_crosstab_on_ibis_matches_pandas(rel: Release) -> None:
    df = rows("A x 30; A y 25; B x 4; B y 40")
    t = ibis.memtable(df)
    a = rel.crosstab(t.g, t.h, policy="sdap", name="ibis")
    b = rel.crosstab(df.g, df.h, policy="sdap", name="pandas")
    pd.testing.assert_frame_equal(a, b, check_names=False)


# --------------------------------------------------------------------------- aggregates


def test_mean_over_too_few_contributors_is_suppressed(rel: Release) -> None:
    df = pd.DataFrame({"g": ["A"] * 20 + ["B"] * 6, "sessions": [4.0, 6.0] * 10 + [10.0] * 6})
    table = rel.pivot_table(df, values="sessions", index="g", policy="sdap", name="m")
    assert table.loc["A", "sessions"] == 5.0
    assert np.isnan(table.loc["B", "sessions"])
    out = rel.output("m")
    assert out.status == "pass"
    assert any("threshold: 1" in r for r in out.reasons)
    csv = exported(rel, "m")
    assert csv.set_index("g").loc["B", "value"] == "*"
    assert csv.set_index("g").loc["A", "value"] == "5"


def test_dominated_sum_is_suppressed_and_protected_from_its_margin(rel: Release) -> None:
    values = [1.0, 2.0] * 6 + [1.0] * 11 + [500.0] + [19.0, 21.0] * 7 + [20.0]
    groups = ["A"] * 12 + ["B"] * 12 + ["C"] * 15
    df = pd.DataFrame({"g": groups, "h": "x", "v": values})
    table = rel.pivot_table(
        df, values="v", index="g", columns="h", aggfunc="sum", margins=True, policy="sdap"
    )
    assert np.isnan(table.loc["B", "x"])  # dominance: 501 of 511
    assert table.loc["C", "x"] == 300.0
    # B alone hidden would be the total less A and C: one more cell is hidden
    assert table["x"].isna().sum() >= 2
    assert table.loc["All", "x"] == sum(values)
    out = rel.outputs[-1]
    assert any("dominance" in r and "secondary" in r for r in out.reasons)


def test_crosstab_with_values_and_aggfunc_mean(rel: Release) -> None:
    df = pd.DataFrame({"g": ["A"] * 15 + ["B"] * 15, "h": ["x", "y"] * 15})
    df["v"] = np.arange(30, dtype=float)
    table = rel.crosstab(df.g, df.h, values=df.v, aggfunc="mean", policy="sdap", name="cm")
    # 7 or 8 people per cell: all under 10
    assert table.isna().all().all()
    assert rel.output("cm").status == "pass"


def test_negative_values_are_suppressed_in_a_magnitude_table(rel: Release) -> None:
    df = pd.DataFrame({"g": ["A"] * 15, "change": [-3.0] + [2.0] * 14})
    table = rel.pivot_table(df, "change", "g", aggfunc="mean", policy="sdap", name="neg")
    assert np.isnan(table.loc["A", "change"])
    assert any("negative" in r for r in rel.output("neg").reasons)


def test_minimum_is_refused(rel: Release) -> None:
    from iaptkit.errors import ConfigError

    df = pd.DataFrame({"g": ["A"] * 15, "v": [1.0] * 15})
    with pytest.raises(ConfigError, match="never released"):
        rel.pivot_table(df, "v", "g", aggfunc="min", policy="sdap")


def test_pivot_on_ibis_is_the_same_as_on_pandas(rel: Release) -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": rng.choice(list("ABC"), 90), "v": rng.integers(0, 20, 90) * 1.0})
    for agg in ("mean", "sum", "median"):
        a = rel.pivot_table(df, "v", "g", aggfunc=agg, margins=True, policy="sdap", name=f"p_{agg}")
        b = rel.pivot_table(
            ibis.memtable(df), "v", "g", aggfunc=agg, margins=True, policy="sdap", name=f"q_{agg}"
        )
        pd.testing.assert_frame_equal(a, b, check_names=False)


# --------------------------------------------------------------------------- models


def test_model_with_too_few_residual_df_fails(rel: Release) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=12), "z": rng.normal(size=12)})
    df["y"] = df["x"] + rng.normal(size=12)
    fit = rel.ols("y ~ x + z", data=df, policy="sdap", name="small")
    assert fit.df_resid == 9
    out = rel.output("small")
    assert out.status == "fail"
    assert out.kind == "model"
    assert out.df_resid == 9
    assert out.n == 12
    assert any("9 residual degrees of freedom" in r for r in out.reasons)


def test_model_with_a_small_category_fails_and_passes_without_it(rel: Release) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"band": ["a"] * 40 + ["b"] * 40 + ["c"] * 5, "x": rng.normal(size=85)})
    df["recovered"] = (df["x"] + rng.normal(size=85)) > 0
    rel.logit("recovered ~ C(band) + x", data=df, policy="sdap", name="lg")
    out = rel.output("lg")
    assert out.status == "fail"
    assert any("band=c: 5 people" in r for r in out.reasons)
    fit = rel.logit("recovered ~ C(band) + x", data=df[df.band != "c"], policy="sdap", name="ok")
    assert rel.output("ok").status == "pass"
    assert fit.params.index.tolist() == ["Intercept", "C(band)[T.b]", "x"]


def test_probit_rare_outcome_fails(rel: Release) -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=200)})
    df["event"] = False
    df.loc[df["x"].nlargest(6).index[::2], "event"] = True
    df.loc[rng.choice(200, 3, replace=False), "event"] = True
    rel.probit("event ~ x", data=df, policy="sdap", name="rare")
    assert any("outcome-class" in r for r in rel.output("rare").reasons)
    assert rel.output("rare").status == "fail"


# --------------------------------------------------------------------------- figures


def test_hist_small_bin_is_suppressed(rel: Release) -> None:
    df = pd.DataFrame({"phq9": [1.0] * 3 + [7.0] * 30 + [13.0] * 25 + [26.0] * 12})
    rel.hist(df, "phq9", bins=5, policy="sdap", name="h")
    out = rel.output("h")
    assert out.kind == "figure"
    assert out.status == "review"
    data = exported(rel, "h.data").set_index("bin")["value"].to_dict()
    assert data["[0, 5)"] == "*"  # 3 people
    assert (data["[5, 10)"], data["[10, 15)"], data["[25, 30)"]) == ("30", "25", "12")
    assert (rel.path / "outputs" / "h.png").is_file()


def test_hist_edges_do_not_reveal_the_extremes(rel: Release) -> None:
    df = pd.DataFrame({"wait": np.linspace(3.7, 96.2, 200)})
    rel.hist(df, "wait", bins=5, policy="sdap", name="w")
    bins = exported(rel, "w.data")["bin"].tolist()
    edges = {float(x) for b in bins for x in b.strip("[)").split(", ")}
    assert 3.7 not in edges
    assert 96.2 not in edges


def test_barplot_of_means_hides_small_groups(rel: Release) -> None:
    df = pd.DataFrame({"g": ["a"] * 30 + ["b"] * 4, "s": [4.0, 6.0] * 15 + [9.0] * 4})
    rel.barplot(df, "g", "s", policy="sdap", name="bars")
    out = rel.output("bars")
    assert out.kind == "figure"
    assert out.status == "review"
    assert exported(rel, "bars").set_index("g")["value"].to_dict() == {"a": "5", "b": "*"}


def test_a_mean_of_identical_values_is_suppressed(rel: Release) -> None:
    df = pd.DataFrame({"g": ["A"] * 20 + ["B"] * 20, "v": [7.0] * 20 + [6.0, 8.0] * 10})
    table = rel.pivot_table(df, "v", "g", policy="sdap", name="same")
    assert np.isnan(table.loc["A", "v"])
    assert table.loc["B", "v"] == 7.0
    assert any("same-values: 1" in r for r in rel.output("same").reasons)


def test_analyses_carry_the_definitions_version_of_a_pathway_table(rel: Release) -> None:
    df = pd.DataFrame({"g": ["A"] * 20, "v": [1.0] * 20, "definitions_version": "iapt-v2.1"})
    rel.pivot_table(df, "v", "g", policy="sdap", name="dv")
    assert rel.output("dv").definitions_version == "iapt-v2.1"


def test_the_joint_audit_takes_counts_and_leaves_tables_of_means_to_their_rules(
    rel: Release,
) -> None:
    df = pd.DataFrame({"g": ["A"] * 20 + ["B"] * 20, "v": [1.0, 3.0] * 20})
    rel.crosstab(df.g, pd.Series(["x", "y"] * 20, name="h"), policy="sdap", name="counts")
    rel.pivot_table(df, "v", "g", policy="sdap", name="means")
    rel.pivot_table(df, "v", "g", aggfunc=["count", "mean"], policy="sdap", name="both")
    certificate = rel.cross_audit()
    assert certificate is not None
    assert certificate.passed
    assert {o.uid: o.status for o in rel.reload().outputs} == {
        "counts": "pass",
        "means": "pass",
        "both": "pass",
    }


def test_a_hidden_mean_cannot_be_recovered_from_the_margin_mean(rel: Release) -> None:
    df = pd.DataFrame(
        {
            "g": ["A"] * 20 + ["B"] * 3 + ["C"] * 30,
            "v": [1.0, 3.0] * 10 + [50.0] * 3 + [2.0, 4.0] * 15,
        }
    )
    table = rel.pivot_table(df, "v", "g", margins=True, policy="sdap", name="mm")
    # with the counts of a published crosstab, All = (20 mA + 3 mB + 30 mC) / 53 gives mB away
    assert np.isnan(table.loc["B", "v"])
    assert table["v"].drop("All").isna().sum() == 2
    assert any("secondary" in r for r in rel.output("mm").reasons)


def test_hist_on_ibis_is_the_same_and_values_outside_explicit_bins_are_named(
    rel: Release,
) -> None:
    df = pd.DataFrame({"phq9": [1.0] * 3 + [7.0] * 30 + [13.0] * 25 + [26.0] * 12})
    rel.hist(ibis.memtable(df), "phq9", bins=5, policy="sdap", name="hi")
    rel.hist(df, "phq9", bins=5, policy="sdap", name="hp")
    pd.testing.assert_frame_equal(exported(rel, "hi.data"), exported(rel, "hp.data"))
    rel.hist(df, "phq9", bins=[0.0, 10.0, 20.0], policy="sdap", name="cut")
    assert any("12 value(s) outside the bins 0..20" in r for r in rel.output("cut").reasons)
