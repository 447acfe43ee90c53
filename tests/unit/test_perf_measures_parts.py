"""Deriving in pathway parts gives exactly the measures of one pass; blank trimming is exact.

- :class:`PathwayPart` slices an extract by PathwayID: the parts' pathway tables are disjoint
  and together are the whole pathway table, field for field;
- ``published_measures(..., parts=n)`` publishes the same values for every n, and the same as
  the measures of the full pathway table; the automatic choice splits an extract when the
  DuckDB memory limit is small, and leaves no cached tables behind;
- :func:`strip_blanks` and :func:`trim_text` (which skip their regular expression for values
  without blank ends) equal Python's ``str.strip`` of the same characters.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaptkit.data import Extract, load_extract
from iaptkit.data.text import strip_blanks, trim_text
from iaptkit.definitions import load_definitions
from iaptkit.errors import ConfigError
from iaptkit.measures.catalogue import LONG_COLUMNS
from iaptkit.measures.derive import derive_pathways, pathway_table
from iaptkit.measures.partitions import PathwayPart, auto_parts, memory_limit_bytes
from iaptkit.measures.published import measures_from_pathways, published_measures
from iaptkit.synth.generate import write_synthetic

AS_AT = date(2024, 3, 31)
START = date(2023, 10, 1)
BREAKDOWNS = ("england", "provider", "age_band", "problem_descriptor", "provider x gender")


@pytest.fixture
def ex(faulty_extract: Extract) -> Extract:
    return faulty_extract


@pytest.fixture(scope="module")
def one_pass(faulty_extract_folder: Path) -> pd.DataFrame:
    """Every family's measures of the extract in one pass (parts=1), computed once per module."""
    with load_extract(faulty_extract_folder) as extract:
        return published_measures(extract, START, AS_AT, BREAKDOWNS, load_definitions(), parts=1)


def _temp_tables(ex: Extract) -> int:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    return int(ex.con.raw_sql(sql).fetchall()[0][0])


def test_parts_are_disjoint_and_together_the_whole_pathway_table(ex: Extract) -> None:
    defs = load_definitions()
    whole = derive_pathways(ex, AS_AT, defs).set_index("PathwayID")
    frames = [derive_pathways(PathwayPart(ex, k, 3), AS_AT, defs) for k in range(3)]
    sizes = [len(f) for f in frames]
    assert all(s > 400 for s in sizes)  # each part holds about a third
    parts = pd.concat(frames).set_index("PathwayID").sort_index()
    assert parts.index.is_unique
    assert list(parts.index) == list(whole.index)
    # every field, scores and flags included
    assert whole["Recovery_Flag"].sum() > 50
    pd.testing.assert_frame_equal(parts, whole)


@pytest.mark.parametrize("parts", [3])
def test_measures_in_parts_equal_one_pass_and_the_full_pathway_table(
    ex: Extract, one_pass: pd.DataFrame, parts: int
) -> None:
    defs = load_definitions()
    one = one_pass
    split = published_measures(ex, START, AS_AT, BREAKDOWNS, defs, parts=parts)
    pd.testing.assert_frame_equal(split, one)
    full = measures_from_pathways(
        pathway_table(ex, AS_AT, defs), START, AS_AT, BREAKDOWNS, definitions_version=defs.version
    )
    # the outcome family (0) equals the one from the full pathway table; the catalogue
    # families (medians from added-up histograms included) equal in every split above
    outcomes = split[split.family == 0].loc[:, list(LONG_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(outcomes, full)
    assert set(split.family) == set(range(9))
    england = split[(split.breakdown == "england") & (split.measure == "finished_treatment")]
    assert float(england["value"].iloc[0]) > 100


def test_automatic_parts_follow_the_memory_limit(ex: Extract, one_pass: pd.DataFrame) -> None:
    defs = load_definitions()
    assert auto_parts(ex) == 1  # the default limit is most of the machine's memory
    one = one_pass  # the default above is one pass: parts=1
    ex.con.raw_sql("SET memory_limit = '2MB'")
    assert memory_limit_bytes(ex) is not None
    n = auto_parts(ex)
    assert n > 1
    ex.con.raw_sql("SET memory_limit = '1GB'")  # enough to run; the split is chosen above
    messages: list[str] = []
    # the outcome family in n parts (every family in parts: the test above)
    split = published_measures(
        ex, START, AS_AT, BREAKDOWNS, defs, parts=n, progress=messages.append, families="outcomes"
    )
    expected = one[one.family == 0].reset_index(drop=True)
    assert len(expected) > 100
    pd.testing.assert_frame_equal(split, expected)
    assert f"part {n} of {n}: counting by breakdown" in messages
    # each part's cached stages were dropped: only the extract's own submission index is left
    assert _temp_tables(ex) <= 1


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_parts_must_be_a_whole_number_of_at_least_one(ex: Extract, bad: object) -> None:
    with pytest.raises(ConfigError, match="parts"):
        published_measures(ex, START, AS_AT, ("england",), parts=bad)  # type: ignore[arg-type]


def test_a_part_number_outside_the_parts_is_refused(ex: Extract) -> None:
    with pytest.raises(ConfigError, match="0 <= index < 3"):
        PathwayPart(ex, 3, 3)


_TEXT = st.lists(st.text(alphabet=" \t\r\n\x0b\x0cabfv0é", max_size=5) | st.none(), max_size=12)


def _run(expr_of: object, values: list[str | None]) -> list[str | None]:
    t = ibis.memtable(pd.DataFrame({"x": pd.Series(values, dtype=object)}), schema={"x": "str"})
    got = ibis.duckdb.connect().execute(expr_of(t.x)).tolist()  # type: ignore[operator]
    return [None if v is None or v != v else v for v in got]


@settings(max_examples=80, deadline=None)
@given(_TEXT)
def test_strip_blanks_is_python_strip_of_ascii_whitespace(values: list[str | None]) -> None:
    expected = [None if v is None else v.strip(" \t\n\r\x0b\x0c") for v in values]
    assert _run(strip_blanks, values) == expected


@settings(max_examples=80, deadline=None)
@given(_TEXT)
def test_trim_text_removes_space_tab_cr_lf_only(values: list[str | None]) -> None:
    expected = [None if v is None else v.strip(" \t\r\n") for v in values]
    assert _run(trim_text, values) == expected


def test_nhs_derived_fields_are_the_last_tie_breakers_of_ids101() -> None:
    # without_nhs_fields relies on it: dropping the last tie-breakers keeps the kept fields
    from iaptkit.data.schema import NHS_DERIVED_FIELDS, TABLES

    names = [f.name for f in TABLES["IDS101Referral"].fields]
    derived = [f.name for f in NHS_DERIVED_FIELDS]
    assert names[-len(derived) :] == derived


def test_referrals_without_nhs_fields_are_the_same_rows(tmp_path: Path) -> None:
    write_synthetic(
        tmp_path, pathways=600, months=12, providers=3, seed=3, faults=0.05, with_nhs_fields=True
    )
    with load_extract(tmp_path) as extract:
        full = extract.referrals_as_at(AS_AT).execute()
        narrow = extract.referrals_as_at(AS_AT, nhs_fields=False).execute()
    assert "Recovery_Flag" in full.columns
    assert "Recovery_Flag" not in narrow.columns
    assert len(narrow) > 500
    keep = list(narrow.columns)
    pd.testing.assert_frame_equal(
        narrow.sort_values("PathwayID").reset_index(drop=True),
        full[keep].sort_values("PathwayID").reset_index(drop=True),
    )


def test_range_parts_cover_every_pathway_once_in_pathway_order(ex: Extract) -> None:
    from iaptkit.measures.partitions import range_parts

    defs = load_definitions()
    parts = range_parts(ex, 4)
    assert len(parts) == 4
    frames = [derive_pathways(p, AS_AT, defs) for p in parts]
    assert all(len(f) > 300 for f in frames)
    joined = pd.concat(frames, ignore_index=True)
    whole = derive_pathways(ex, AS_AT, defs)
    pd.testing.assert_frame_equal(joined, whole)  # same rows, same order


def test_pathway_writer_leaves_nothing_when_the_run_fails(ex: Extract, tmp_path: Path) -> None:
    from iaptkit.measures.pathway_files import PathwayWriter

    frame = derive_pathways(ex, AS_AT, load_definitions())
    out = tmp_path / "p.parquet"

    def interrupted() -> None:
        with PathwayWriter(out) as writer:
            writer.write(frame.iloc[:10])
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    assert list(tmp_path.iterdir()) == []
    with PathwayWriter(out) as writer:
        writer.write(frame.iloc[:0])
    back = pd.read_parquet(out)
    assert len(back) == 0
    assert str(back.columns[0]) == "PathwayID"
