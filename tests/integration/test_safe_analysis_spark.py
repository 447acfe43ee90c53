"""The safe-analysis calls on Spark: Ibis tables aggregated in the engine give pandas' tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from iaptkit.release import Release

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_crosstab_pivot_and_hist_on_spark_equal_pandas(spark: Any, tmp_path: Path) -> None:
    import ibis

    rng = np.random.default_rng(11)
    df = pd.DataFrame(
        {
            "g": rng.choice(list("ABC"), 400),
            "h": rng.choice(["x", "y", "z"], 400, p=[0.6, 0.38, 0.02]),
            "v": rng.integers(0, 30, 400).astype("float64"),
        }
    )
    spark.createDataFrame(df).createOrReplaceTempView("ad_hoc_rows")
    t = ibis.pyspark.connect(spark).table("ad_hoc_rows")
    rel = Release.open_or_create(tmp_path / "rel", title="spark", analyst="A")

    on_pandas = rel.crosstab(df.g, df.h, policy="sdap", name="ct_pandas")
    on_spark = rel.crosstab(t.g, t.h, policy="sdap", name="ct_spark")
    pd.testing.assert_frame_equal(on_pandas, on_spark, check_names=False)
    # the rare category is suppressed on both engines, the common cells published as counted
    assert on_spark["z"].isna().all()
    truth = pd.crosstab(df.g, df.h)
    published = on_spark["x"].dropna()
    assert (published == truth.loc[published.index, "x"]).all()
    assert rel.output("ct_spark").status == rel.output("ct_pandas").status

    for agg in ("mean", "sum"):
        a = rel.pivot_table(df, "v", "g", aggfunc=agg, policy="sdap", name=f"pv_{agg}_pandas")
        b = rel.pivot_table(t, "v", "g", aggfunc=agg, policy="sdap", name=f"pv_{agg}_spark")
        pd.testing.assert_frame_equal(a, b, check_names=False)
        expected = df.groupby("g")["v"].agg(agg)
        assert np.allclose(b["v"].to_numpy(dtype=float), expected.loc[b.index].to_numpy())
