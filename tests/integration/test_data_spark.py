"""The same extract on local Spark and on DuckDB gives the same relations (one ibis code path)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iaptkit.data import TABLES, load_extract
from iaptkit.data.extract import Extract
from iaptkit.data.ledger import count_rows
from iaptkit.data.staging import spark_job_count
from iaptkit.errors import ExtractError
from iaptkit.synth.generate import write_synthetic

pytest.importorskip("pyspark", reason="pyspark is an optional extra (iaptkit[spark])")

pytestmark = pytest.mark.spark

AS_AT = (date(2024, 5, 15), date(2024, 7, 31))
ACTIVITY = tuple(n for n, t in TABLES.items() if t.activity_key)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic extract with refreshes, NHS fields and faults (duplicate keys: ties)."""
    out = tmp_path_factory.mktemp("synth")
    write_synthetic(
        out,
        pathways=600,
        start="2024-04",
        months=4,
        providers=3,
        seed=21,
        with_nhs_fields=True,
        faults=0.03,
    )
    # make sure one provider-month is superseded: an empty refresh in IDS000 of the
    # submission with the highest id supersedes every row of that submission
    header_file = out / "IDS000Header.parquet"
    header = pq.read_table(header_file)
    frame = header.to_pandas()
    refresh = frame.sort_values("UniqueSubmissionID").tail(1).copy()
    top = max(int(v) for v in frame.UniqueSubmissionID)
    refresh["UniqueSubmissionID"] = top + 1
    table = pa.Table.from_pandas(
        pd.concat([frame, refresh], ignore_index=True), schema=header.schema, preserve_index=False
    )
    pq.write_table(table, header_file)
    return out


@pytest.fixture(scope="module")
def both(spark: Any, folder: Path) -> Iterator[tuple[Extract, Extract]]:
    database = "iaptkit_loader_test"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    for path in sorted(folder.glob("*.parquet")):
        # table names in data-dictionary case; Spark's catalog stores them in lower case
        spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{database}.{path.stem}")
    on_spark = load_extract(database, spark=spark)
    on_duckdb = load_extract(folder)
    yield on_duckdb, on_spark
    on_duckdb.close()
    spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")


def normalised(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Values as text (engines return different pandas dtypes), sorted by a total order."""
    text = frame.astype(object).where(frame.notna(), None)
    text = text.map(lambda v: None if v is None else str(v)[:10] if hasattr(v, "date") else str(v))
    return text.sort_values(key, na_position="last").reset_index(drop=True)


def test_spark_reads_the_same_tables(both: tuple[Extract, Extract]) -> None:
    on_duckdb, on_spark = both
    assert on_spark.engine == "spark"
    assert on_spark.table_names() == on_duckdb.table_names()
    # IDS101 has every field type (booleans, dates, ints, scores); IDS607 the scores
    for name in ("IDS101Referral", "IDS607CodedScoreAssessmentAct"):
        keys = list(TABLES[name].field_names)
        a = normalised(on_duckdb.table(name).execute(), keys)
        b = normalised(on_spark.table(name).execute(), keys)
        pd.testing.assert_frame_equal(a, b, obj=name)


@pytest.mark.parametrize("as_at", AS_AT)
def test_referrals_and_activity_as_at_agree(both: tuple[Extract, Extract], as_at: date) -> None:
    on_duckdb, on_spark = both
    a = on_duckdb.referrals_as_at(as_at).execute()
    b = on_spark.referrals_as_at(as_at).execute()
    assert len(a) > 0
    assert a.PathwayID.is_unique
    pd.testing.assert_frame_equal(
        normalised(a, ["PathwayID"]), normalised(b, ["PathwayID"]), obj="referrals"
    )
    for name in ACTIVITY:
        columns = list(TABLES[name].field_names)
        a = on_duckdb.activity_as_at(name, as_at).execute()
        b = on_spark.activity_as_at(name, as_at).execute()
        pd.testing.assert_frame_equal(normalised(a, columns), normalised(b, columns), obj=name)


def test_exclusions_agree(both: tuple[Extract, Extract]) -> None:
    on_duckdb, on_spark = both
    a = on_duckdb.exclusions(AS_AT[-1])
    b = on_spark.exclusions(AS_AT[-1])
    assert set(a.reason) >= {"superseded_submission", "duplicate_across_submissions"}
    pd.testing.assert_frame_equal(a, b)


def test_spark_reads_a_folder_and_reports_unknown_databases(spark: Any, folder: Path) -> None:
    on_spark = load_extract(folder, spark=spark)
    assert on_spark.table("IDS201CareContact").AppType.execute().str.len().eq(2).mean() > 0.9
    with pytest.raises(ExtractError, match=r"neither a folder nor a database"):
        load_extract("no_such_database", spark=spark)


def test_a_parquet_folder_opens_and_is_counted_with_no_spark_job(spark: Any, folder: Path) -> None:
    before = spark_job_count(spark)
    on_spark = load_extract(folder, spark=spark)
    counts = {name: count_rows(on_spark, name) for name in on_spark.table_names()}
    # schemas and row counts come from the parquet footers: no job infers or counts
    assert spark_job_count(spark) == before
    on_duckdb = load_extract(folder)
    try:
        assert counts == {name: count_rows(on_duckdb, name) for name in on_duckdb.table_names()}
    finally:
        on_duckdb.close()
    assert counts["IDS201CareContact"] > 600
    for name in on_spark.table_names():
        src = on_spark.tables[name]
        inferred = spark.read.parquet(str(src.files[0]))
        # the footer's schema is the one Spark infers, the footer's count Spark's own
        assert spark.table(src.relation).schema == inferred.schema, name
        assert counts[name] == inferred.count(), name


def test_dataframes_on_spark_give_the_duckdb_state(spark: Any) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
    from data_builder import AS_AT_MID_AUGUST, frames

    on_spark = load_extract(frames(), spark=spark)
    with load_extract(frames()) as on_duckdb:
        a = on_duckdb.referrals_as_at(AS_AT_MID_AUGUST).execute()
    b = on_spark.referrals_as_at(AS_AT_MID_AUGUST).execute()
    assert sorted(b.PathwayID) == ["P1", "P2"]
    pd.testing.assert_frame_equal(normalised(a, ["PathwayID"]), normalised(b, ["PathwayID"]))
