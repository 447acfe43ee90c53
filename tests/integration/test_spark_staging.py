"""Spark stage boundaries cut the plan; ``save_as_table`` writes a catalog table faithfully."""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is an optional extra (iaptkit[spark])")

from iaptkit.data import load_extract
from iaptkit.data.spark_tables import save_as_table
from iaptkit.data.staging import is_spark, materialise, spark_job_count

pytestmark = pytest.mark.spark

REFERRALS = pd.DataFrame(
    {
        "UniqueSubmissionID": [1, 2, 2],
        "Unique_MonthID": [1492, 1493, 1493],
        "OrgID_Provider": ["R1A", "R1A", "R1A"],
        "PathwayID": ["P1", "P1", "P2"],
        "ServiceRequestId": ["S1", "S1", "S2"],
        "RecordNumber": [1, 1, 2],
        "OrgIDComm": ["C1", "C1", "C1"],
        "ReferralRequestReceivedDate": ["2024-07-01", "2024-07-01", "2024-08-03"],
        "SourceOfReferralMH": ["A1", "A1", "B1"],
        "ServDischDate": [None, "2024-08-20", None],
        "EndCode": [None, "10", None],
        "Age_ReferralRequest_ReceivedDate": [30, 30, 40],
    }
)


def _plan(spark: Any, view: str) -> str:
    return str(spark.table(view)._jdf.queryExecution().analyzed().toString())


def test_a_materialised_stage_is_planned_as_a_scan(spark: Any) -> None:
    ex = load_extract({"IDS101Referral": REFERRALS}, spark=spark, engine="spark")
    rows = ex.counted("IDS101Referral")
    latest = rows.mutate(
        n=ibis.row_number().over(group_by=rows.PathwayID, order_by=ibis.desc(rows.Unique_MonthID))
    )
    latest = latest.filter(latest.n == 0).select("PathwayID", "ServDischDate")
    assert is_spark(latest)
    lazy = str(spark.sql(ex.con.compile(latest))._jdf.queryExecution().analyzed().toString())
    before = spark_job_count(spark)
    staged = materialise(latest, "latest rows")
    # computed eagerly, at the boundary (jobs ran), not when first read
    assert spark_job_count(spark) > before
    view = staged.get_name()
    # the lazy relation's plan holds the window; the stage's is a scan of stored rows
    assert "Window" in lazy
    assert "Window" not in _plan(spark, view)
    assert "LogicalRDD" in _plan(spark, view)
    got = staged.execute().sort_values("PathwayID").reset_index(drop=True)
    # P1's latest submission (month 1493) has its discharge; P2 only in month 1493
    assert got.PathwayID.tolist() == ["P1", "P2"]
    assert [None if pd.isna(d) else str(d)[:10] for d in got.ServDischDate] == [
        "2024-08-20",
        None,
    ]
    staged.release()
    assert view not in {t.name for t in spark.catalog.listTables()}


def test_referrals_as_at_is_one_stage_on_spark(spark: Any) -> None:
    ex = load_extract({"IDS101Referral": REFERRALS}, spark=spark, engine="spark")
    refs = ex.referrals_as_at(date(2024, 8, 31), nhs_fields=False)
    # the ledger and the derivation read the same materialised relation
    assert ex.referrals_as_at(date(2024, 8, 31), nhs_fields=False) is refs
    assert "LogicalRDD" in _plan(spark, refs.get_name())
    assert sorted(refs.execute().PathwayID) == ["P1", "P2"]
    # a restricted relation (a part of the pathways) is not memoised
    part = ex.referrals_as_at(
        date(2024, 8, 31), nhs_fields=False, where=lambda t: t.filter(t.PathwayID == "P2")
    )
    assert part.execute().PathwayID.tolist() == ["P2"]


def test_save_as_table_round_trip(spark: Any) -> None:
    frame = pd.DataFrame(
        {
            "breakdown": ["england", "provider", "provider"],
            "group": ["England", "R1A", None],
            "value": [10.0, 7.0, None],
            "numerator": pd.array([3, None, 1], dtype="Int64"),
        }
    )
    rows = save_as_table(frame, "iaptkit_write_test.measures", spark)
    assert rows == 3
    back = spark.table("iaptkit_write_test.measures").toPandas()
    back = back.sort_values("breakdown", kind="stable").reset_index(drop=True)
    assert back["group"].tolist()[:2] == ["England", "R1A"]
    assert back["group"].isna().tolist()[2]
    assert back["value"].tolist()[:2] == [10.0, 7.0]
    assert pd.isna(back["value"].iloc[2])
    assert [None if pd.isna(v) else int(v) for v in back["numerator"]] == [3, None, 1]
    # replaced, not appended, on a second write
    assert save_as_table(frame.head(1), "iaptkit_write_test.measures", spark) == 1
    spark.sql("DROP DATABASE IF EXISTS iaptkit_write_test CASCADE")
