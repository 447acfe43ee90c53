"""The Arrow route of ``iaptkit derive``: the same pathway table, and the same file, as pandas."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from iaptkit.data import load_extract
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import derive_pathways, derive_pathways_arrow
from iaptkit.measures.pathway_files import PATHWAY_ARROW_SCHEMA, PathwayWriter
from iaptkit.measures.pathway_schema import PATHWAY_COLUMNS


def _extract(tmp_path: Path) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path / "extract"
    write_synthetic(folder, pathways=150, start="2023-10", months=6, providers=2, seed=7)
    return folder


def test_arrow_and_pandas_routes_write_the_same_files(tmp_path: Path) -> None:
    folder = _extract(tmp_path)
    defs, as_at = load_definitions(), date(2024, 3, 31)
    with load_extract(folder) as ex:
        frame = derive_pathways(ex, as_at, defs)
        table = derive_pathways_arrow(ex, as_at, defs)
    assert table.column_names == list(PATHWAY_COLUMNS)
    assert table.num_rows == len(frame) > 0
    ids = table.column("PathwayID").to_pylist()
    assert ids == sorted(ids) == frame["PathwayID"].tolist()
    for suffix in ("parquet", "csv"):
        with PathwayWriter(tmp_path / f"pandas.{suffix}") as w:
            w.write(frame)
        with PathwayWriter(tmp_path / f"arrow.{suffix}") as w:
            w.write_arrow(table)
        assert w.rows == len(frame)
    a, b = pq.read_table(tmp_path / "pandas.parquet"), pq.read_table(tmp_path / "arrow.parquet")
    assert a.schema.equals(PATHWAY_ARROW_SCHEMA)
    assert b.schema.equals(PATHWAY_ARROW_SCHEMA)
    assert a.equals(b)
    csv_a = (tmp_path / "pandas.csv").read_bytes()
    assert csv_a == (tmp_path / "arrow.csv").read_bytes()
    # the file's flags are never null (false where the engine has none), as the frame's
    for col in ("Recovery_Flag", "CompletedTreatment_Flag"):
        assert b.column(col).null_count == 0
        assert b.column(col).to_pylist() == frame[col].tolist()
