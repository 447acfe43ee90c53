"""Property: for random fault mixes, rows used + not used = rows in the files, per table."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaptkit.data import load_extract
from iaptkit.data.ledger import LEDGER_REASONS, extract_ledger
from iaptkit.synth.generate import write_synthetic
from iaptkit.synth.row_faults import ROW_FAULTS, damage_rows


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([0.0, 0.02, 0.1, 0.2]),
    months=st.integers(1, 3),
    as_at_month=st.integers(1, 3),
    row_faults=st.lists(st.sampled_from(ROW_FAULTS), max_size=4, unique=True),
    every=st.integers(1, 6),
)
def test_every_row_is_accounted_for(
    seed: int, rate: float, months: int, as_at_month: int, row_faults: list[str], every: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        write_synthetic(
            folder, pathways=40, start="2024-01", months=months, providers=2, seed=seed,
            fmt="csv", faults=rate,
        )  # fmt: skip
        for fault in row_faults:  # value faults on top of the injected ones
            damage_rows(folder, fault, every=every)
        as_at = date(2024, as_at_month, 28)
        with load_extract(folder) as ex:
            ledger = extract_ledger(ex, as_at)
            validated = extract_ledger(ex)  # validate's ledger: no date
        assert [t.table for t in ledger.tables] == list(ex.table_names())
        assert [t.table for t in validated.tables] == list(ex.table_names())
        for t in (*ledger.tables, *validated.tables):
            lines = len((folder / f"{t.table}.csv").read_bytes().splitlines()) - 1
            assert t.rows_in_files == lines
            assert t.rows_used >= 0
            assert all(n > 0 for n in t.rows_not_used.values())
            assert set(t.rows_not_used) <= set(LEDGER_REASONS)
            assert t.rows_used + sum(t.rows_not_used.values()) == t.rows_in_files
        by_table = {t.table: t for t in ledger.tables}
        # one referral state per pathway seen up to the date
        refs = by_table["IDS101Referral"]
        assert refs.rows_used <= 40
