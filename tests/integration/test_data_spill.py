"""An extract larger than DuckDB's memory limit still loads: the loader's temp directory spills."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from iaptkit.data import load_extract
from iaptkit.synth.generate import write_synthetic

AS_AT = date(2024, 3, 31)
LIMIT = "30MB"  # below what the as-at state needs in memory (about 40 MB), above the spill floor


def state(folder: Path, *, limit: str | None, spill: bool = True) -> tuple[int, int, int]:
    with load_extract(folder) as ex:
        if limit is not None:
            ex.con.raw_sql(f"SET memory_limit = '{limit}'")
            ex.con.raw_sql("SET threads = 1")
        if not spill:
            ex.con.raw_sql("SET temp_directory = ''")
        referrals = ex.referrals_as_at(AS_AT).execute()
        scores = ex.activity_as_at("IDS607CodedScoreAssessmentAct", AS_AT)
        return len(referrals), int(referrals.PathwayID.nunique()), int(scores.count().execute())


@pytest.mark.slow
def test_as_at_state_spills_to_disk_under_a_small_memory_limit(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=20_000, months=12, providers=20, seed=7)
    unlimited = state(tmp_path, limit=None)
    assert unlimited[0] == unlimited[1] > 15_000
    # the control: without a temporary directory DuckDB cannot spill and runs out of memory
    with pytest.raises(duckdb.OutOfMemoryException):
        state(tmp_path, limit=LIMIT, spill=False)
    assert state(tmp_path, limit=LIMIT) == unlimited
