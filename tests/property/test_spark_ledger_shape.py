"""Property: the Spark ledger's one-pass shape counts exactly what ``exclusion_counts`` counts.

Both forms run here on DuckDB (the shape is plain ibis), over random fault mixes, with a date
(derive, measures) and without (validate): the frames must be equal, row for row.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaptkit.data import load_extract
from iaptkit.data.exclusion_rows import exclusion_columns, exclusion_counts
from iaptkit.data.spark_ledger import spark_exclusion_counts
from iaptkit.data.submissions import referrals_as_at, without_nhs_fields
from iaptkit.synth.generate import write_synthetic
from iaptkit.synth.row_faults import ROW_FAULTS, damage_rows


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([0.0, 0.05, 0.2]),
    months=st.integers(1, 3),
    as_at_month=st.integers(1, 3),
    row_faults=st.lists(st.sampled_from(ROW_FAULTS), max_size=4, unique=True),
    every=st.integers(1, 5),
)
def test_spark_shape_counts_equal_duckdb_shape(
    seed: int, rate: float, months: int, as_at_month: int, row_faults: list[str], every: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        write_synthetic(
            folder, pathways=40, start="2024-01", months=months, providers=2, seed=seed,
            fmt="csv", faults=rate,
        )  # fmt: skip
        for fault in row_faults:
            damage_rows(folder, fault, every=every)
        as_at = date(2024, as_at_month, 28)
        with load_extract(folder) as ex:
            typed = {n: ex.table(n, columns=exclusion_columns(n)) for n in ex.table_names()}
            refs = ex.referrals_as_at(as_at, nhs_fields=False).select(
                "PathwayID", "UniqueSubmissionID", "RecordNumber", "ReferralRequestReceivedDate"
            )
            latest = referrals_as_at(
                without_nhs_fields(ex.counted("IDS101Referral")), None, date(9999, 12, 31)
            ).select("PathwayID", "ReferralRequestReceivedDate")
            subs = ex.submissions()
            frames = [
                (
                    exclusion_counts(typed, subs, as_at, refs, dates=refs),
                    spark_exclusion_counts(typed, subs, as_at, refs, dates=refs),
                ),
                (
                    exclusion_counts(typed, subs, None, None, dates=latest),
                    spark_exclusion_counts(typed, subs, None, None, dates=latest),
                ),
            ]
        for duck_shape, spark_shape in frames:
            pd.testing.assert_frame_equal(duck_shape, spark_shape)
        # the faults were counted (not two empty frames agreeing)
        assert frames[0][0].rows.sum() > 0
