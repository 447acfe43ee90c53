"""The same synthetic extract on local Spark and on DuckDB: identical pathways and measures.

One ibis code path runs on both engines; this test holds it to giving the same answers. The
extract's tables are written into a Spark database and read back with
``load_extract(database, spark=spark)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is an optional extra (iaptkit[spark])")

from iaptkit.data import Extract, load_extract
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.published import published_measures
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.spark

AS_AT = date(2024, 3, 31)
START = date(2023, 10, 1)
BY = ("england", "provider", "age_band", "imd_decile", "problem_descriptor", "provider x gender")


@pytest.fixture(scope="module")
def engines(
    spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Extract, Extract]]:
    folder = tmp_path_factory.mktemp("synth_spark")
    write_synthetic(
        folder, pathways=200, start="2023-10", months=6, providers=3, seed=8, with_nhs_fields=True
    )
    database = "iaptkit_measures_test"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    for path in sorted(folder.glob("IDS*.parquet")):
        spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{database}.{path.stem}")
    on_duckdb = load_extract(folder)
    on_spark = load_extract(database, spark=spark)
    yield on_duckdb, on_spark
    on_duckdb.close()
    spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")


@pytest.fixture(scope="module")
def both_pathways(engines: tuple[Extract, Extract]) -> tuple[pd.DataFrame, pd.DataFrame]:
    on_duckdb, on_spark = engines
    return derive_pathways(on_duckdb, AS_AT), derive_pathways(on_spark, AS_AT)


def test_derive_pathways_identical_on_spark_and_duckdb(
    both_pathways: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    a, b = both_pathways
    assert len(a) == 200
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a.CompletedTreatment_Flag.sum() > 0


def test_published_measures_identical_on_spark_and_duckdb(engines: tuple[Extract, Extract]) -> None:
    on_duckdb, on_spark = engines
    # the outcome family here (the local session is shared by the whole run); every family is
    # held to DuckDB on the standalone cluster (test_spark_cluster.py)
    a = published_measures(on_duckdb, START, AS_AT, BY, families="outcomes")
    b = published_measures(on_spark, START, AS_AT, BY, families="outcomes")
    pd.testing.assert_frame_equal(a, b)
    assert a[(a.breakdown == "england") & (a.measure == "finished_treatment")].value.iloc[0] > 0
    assert set(a.breakdown) == set(BY)


def test_nhs_flags_identical_on_spark_and_duckdb(
    engines: tuple[Extract, Extract], spark: Any
) -> None:
    on_duckdb, on_spark = engines
    # the NHS-derived flags feed the outcome family (every family: test_spark_cluster.py)
    by, kw = ("england", "provider"), {"use_nhs_flags": True, "families": "outcomes"}
    a = published_measures(on_duckdb, START, AS_AT, by, **kw)
    b = published_measures(on_spark, START, AS_AT, by, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert set(a.breakdown) == {"england", "provider"}
    finished = a.loc[a.measure == "finished_treatment"].set_index("breakdown")
    # independently, from the NHS-derived IDS101 fields as stored in Spark: the latest submission
    # per provider and month, each pathway's last state, discharged in the period and completed
    ids101 = spark.table("iaptkit_measures_test.IDS101Referral").toPandas()
    ids101["UniqueSubmissionID"] = ids101["UniqueSubmissionID"].astype(int)
    ids101["Unique_MonthID"] = ids101["Unique_MonthID"].astype(int)
    latest = ids101.groupby(["OrgID_Provider", "Unique_MonthID"])["UniqueSubmissionID"]
    rows = ids101.loc[ids101["UniqueSubmissionID"] == latest.transform("max")]
    state = rows.sort_values(["Unique_MonthID", "UniqueSubmissionID"]).groupby("PathwayID").tail(1)
    discharged = pd.to_datetime(state["ServDischDate"]).dt.date
    completed = state["CompletedTreatment_Flag"].astype(str).str.lower().isin({"true", "1", "y"})
    expected = int((discharged.between(START, AS_AT) & completed).sum())
    assert expected > 0
    assert int(finished.loc["england", "value"]) == expected
    assert int(finished.loc["provider", "value"].sum()) == expected
    assert len(finished.loc["provider"]) == 3


def test_blank_stripping_is_the_same_on_spark_and_never_eats_letters(spark: Any) -> None:
    import ibis

    from iaptkit.data.text import strip_blanks, trim_text

    values = ["fv", " v ", "\x0bf\x0c", "\t02\r\n", "", "  ", "false", None]
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    con = ibis.pyspark.connect(spark)
    t = con.create_table(
        "iaptkit_strip_test", ibis.memtable(frame, schema={"x": "str"}), overwrite=True
    )
    got = t.select(s=strip_blanks(t.x), r=trim_text(t.x)).execute()
    con.drop_table("iaptkit_strip_test", force=True)
    stripped = [None if v is None or v != v else v for v in got["s"]]
    trimmed = [None if v is None or v != v else v for v in got["r"]]
    # ibis's own strip() on Spark would turn "fv" into "" and "false" into "alse"
    assert stripped == [None if v is None else v.strip(" \t\n\r\x0b\x0c") for v in values]
    assert trimmed == [None if v is None else v.strip(" \t\r\n") for v in values]
