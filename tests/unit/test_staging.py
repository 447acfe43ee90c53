"""Stage boundaries and ``--write-table`` without Spark: DuckDB stays lazy, bad uses refused."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from iaptkit.cli.measures import measures_command
from iaptkit.data.spark_tables import check_table_name
from iaptkit.data.staging import is_spark, materialise
from iaptkit.errors import ConfigError
from iaptkit.measures.examples import example_extract


def test_materialise_is_a_no_op_on_duckdb() -> None:
    ex = example_extract()
    refs = ex.referrals_as_at(date(2024, 6, 30))
    assert not is_spark(refs)
    staged = materialise(refs, "referrals as at")
    assert staged is refs  # the same lazy expression: DuckDB plans the whole derivation at once
    ex.close()


@pytest.mark.parametrize("name", ["db.t", "cat.db.t", "iapt_2024.measures_q1", "_x.y1"])
def test_table_names_accepted(name: str) -> None:
    assert check_table_name(name) == name


@pytest.mark.parametrize(
    "name", ["measures", "db.", ".t", "db.t; DROP TABLE x", "a.b.c.d", "db.my-table", "1db.t"]
)
def test_table_names_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"expected DATABASE\.TABLE"):
        check_table_name(name)


def test_write_table_needs_spark(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--engine spark only; found --engine duckdb"):
        measures_command(
            str(tmp_path),
            start="2024-04-01",
            end="2024-06-30",
            output=tmp_path / "m.csv",
            by="england",
            use_nhs_flags=False,
            policy="none",
            definitions=None,
            engine="duckdb",
            write_table_name="results.measures",
        )
    assert not (tmp_path / "m.csv").exists()


def test_the_local_spark_session_gets_half_the_machines_memory() -> None:
    from iaptkit.cli.commands_common import local_spark_conf

    setting = local_spark_conf()["spark.driver.memory"]
    assert setting.endswith("g")
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    assert int(setting[:-1]) == max(1, min(16, int(total_gb / 2)))
