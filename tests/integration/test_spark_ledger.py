"""The row ledger of a damaged extract: Spark's (data/spark_ledger.py) equals DuckDB's exactly."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="pyspark is an optional extra (iaptkit[spark])")

from iaptkit.data import load_extract
from iaptkit.data.ledger import extract_ledger
from iaptkit.data.staging import spark_job_count
from iaptkit.synth.generate import write_synthetic
from iaptkit.synth.row_faults import ROW_FAULTS, damage_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_AT = date(2024, 3, 31)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CSV files with injected faults (resubmissions, duplicates, bad ids) and row faults."""
    folder = tmp_path_factory.mktemp("damaged_ledger")
    write_synthetic(
        folder, pathways=150, start="2024-01", months=3, providers=2, seed=5, fmt="csv",
        faults=0.1,
    )  # fmt: skip
    for k, fault in enumerate(ROW_FAULTS):
        damage_rows(folder, fault, every=6 + k)  # faults of one table on different rows
    return folder


def test_spark_ledger_equals_duckdb_ledger_on_a_damaged_extract(spark: Any, damaged: Path) -> None:
    with load_extract(damaged) as on_duckdb:
        ex_duck = extract_ledger(on_duckdb, AS_AT)
        validated_duck = extract_ledger(on_duckdb)
    on_spark = load_extract(damaged, spark=spark, engine="spark")
    on_spark.keep_referral_states()
    before = spark_job_count(spark)
    ex_spark = extract_ledger(on_spark, AS_AT)
    jobs = spark_job_count(spark) - before
    validated_spark = extract_ledger(on_spark)
    assert ex_spark.to_records() == ex_duck.to_records()
    assert validated_spark.to_records() == validated_duck.to_records()
    assert ex_spark.balanced
    assert validated_spark.balanced
    reasons = {r for t in ex_duck.tables for r in t.rows_not_used}
    # the damage is counted (not two empty ledgers agreeing)
    assert {
        "missing_pathway_id",
        "contact_before_referral",
        "contact_undated",
        "score_not_integer",
        "duplicate_across_submissions",
        "invalid_month_id",
        "contact_after_as_at",
    } <= reasons
    # counted by Spark (its jobs ran), never a silent fall-back to DuckDB
    assert jobs > 0
