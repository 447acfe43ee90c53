"""The performance shortcuts of the measures path give exactly the results of the plain route.

- text fields: the blank check skips its regular expression for values that start with a
  printable character; compared here with Python's own ``strip`` on awkward strings;
- activity as at E for some pathways only: the same rows as filtering the full result;
- published measures derive scores only for pathways finished in the period, and contacts
  only for pathways not discharged before it: compared with the measures of the full pathway
  table (every field of every pathway), for periods that start before, at and after the
  extract's first month, on a synthetic extract with faults.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaptkit.data import Extract
from iaptkit.data.parsing import typed_column
from iaptkit.data.schema import FieldSpec
from iaptkit.definitions import load_definitions
from iaptkit.measures.catalogue import LONG_COLUMNS
from iaptkit.measures.derive import pathway_table
from iaptkit.measures.published import measures_from_pathways, published_measures

AS_AT = date(2024, 3, 31)
BREAKDOWNS = ("england", "provider", "age_band", "problem_descriptor", "provider x gender")
FLAGS = (
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
    "ReliableRecovery_Flag",
)
SCORES = (
    "PHQ9_FirstScore",
    "PHQ9_LastScore",
    "GAD_FirstScore",
    "GAD_LastScore",
    "ADSM_FirstScore",
    "ADSM_LastScore",
)


def expected_text(value: str | None) -> str | None:
    """docs/data-model.md: a text value that is blank (spaces, tabs, CR, LF only) is missing."""
    if value is None or value.strip(" \t\r\n") == "":
        return None
    return value


def expected_identifier(value: str | None) -> str | None:
    """docs/data-model.md: blanks around an identifier are not part of it; all blanks: missing."""
    stripped = None if value is None else value.strip(" \t\n\r\x0b\x0c")
    return stripped or None


AWKWARD = [
    None,
    "",
    " ",
    "\t",
    "\r\n",
    " \t \n",
    " a",
    "a ",
    "\ta\t",
    "02",
    "\x0b",  # vertical tab: not one of the four blanks, so kept
    "\x0bx",
    "\x00",
    "!",
    "é",
    " é ",
    "日本",
    "\u00a0",  # no-break space: kept (not an ASCII blank)
]


def test_text_fields_keep_exactly_the_non_blank_values() -> None:
    t = ibis.memtable(pd.DataFrame({"x": pd.Series(AWKWARD, dtype=object)}), schema={"x": "str"})
    got = ibis.duckdb.connect().execute(typed_column(t.x, FieldSpec("x", "code"))).tolist()
    got = [None if v is None or v != v else v for v in got]
    assert got == [expected_text(v) for v in AWKWARD]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=" \t\r\n\x0bab0é", max_size=4) | st.none(), max_size=12))
def test_text_fields_match_python_strip_on_any_string(values: list[str | None]) -> None:
    t = ibis.memtable(pd.DataFrame({"x": pd.Series(values, dtype=object)}), schema={"x": "str"})
    con = ibis.duckdb.connect()
    for name, kind, expected in (
        ("x", "code", expected_text),
        ("x", "str", expected_text),
        ("PathwayID", "str", expected_identifier),  # schema.IDENTIFIER_FIELDS
    ):
        got = con.execute(typed_column(t.x, FieldSpec(name, kind))).tolist()  # type: ignore[arg-type]
        got = [None if v is None or v != v else v for v in got]
        assert got == [expected(v) for v in values], name


@pytest.fixture
def ex(faulty_extract: Extract) -> Extract:
    return faulty_extract


def test_activity_for_some_pathways_is_the_full_result_filtered(ex: Extract) -> None:
    name = "IDS607CodedScoreAssessmentAct"
    full = ex.activity_as_at(name, AS_AT).execute()
    chosen = sorted(full.PathwayID.dropna().unique())[::3]
    wanted = ibis.memtable(pd.DataFrame({"PathwayID": chosen}))
    some = ex.activity_as_at(name, AS_AT, pathways=wanted).execute()
    expected = full[full.PathwayID.isin(chosen)]
    key = ["PathwayID", "CareActId", "CodedAssToolType"]
    assert len(some) > 0
    pd.testing.assert_frame_equal(
        some.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2023, 4, 1), date(2024, 3, 31)),  # the whole extract
        (date(2023, 10, 1), date(2024, 3, 31)),  # pathways discharged before the period
        (date(2024, 1, 1), date(2024, 2, 29)),  # ... and a period ending before E's month
        (date(2022, 4, 1), date(2023, 3, 31)),  # before the extract: nothing in it
    ],
)
def test_published_measures_equal_those_of_the_full_pathway_table(
    ex: Extract, start: date, end: date
) -> None:
    defs = load_definitions()
    full = pathway_table(ex, end, defs)
    if start > date(2023, 4, 1):
        # the contact restriction must bite: some pathways ended before the period
        assert int((full.ServDischDate < start).sum().execute()) > 50
    expected = measures_from_pathways(
        full, start, end, BREAKDOWNS, definitions_version=defs.version
    )
    got = published_measures(ex, start, end, BREAKDOWNS, defs, families="outcomes")
    assert set(got.family) == {0}
    pd.testing.assert_frame_equal(got.loc[:, list(LONG_COLUMNS)], expected)
    assert got.loc[got.measure == "finished_treatment", "value"].sum() >= 0


def test_restricted_table_keeps_scores_and_flags_of_finished_pathways(ex: Extract) -> None:
    defs = load_definitions()
    start, end = date(2023, 10, 1), AS_AT
    full = pathway_table(ex, end, defs).execute().set_index("PathwayID").sort_index()
    part = (
        pathway_table(ex, end, defs, outcomes_finished_in=(start, end))
        .execute()
        .set_index("PathwayID")
        .sort_index()
    )
    disch = pd.to_datetime(full.ServDischDate)
    finished = disch.between(pd.Timestamp(start), pd.Timestamp(end)) & full.CompletedTreatment_Flag
    assert finished.sum() > 100
    assert (~finished).sum() > 100
    assert list(part.index) == list(full.index)
    same = ["provider", "ProblemDescriptor", "ServDischDate", *FLAGS, *SCORES]
    pd.testing.assert_frame_equal(part.loc[finished, same], full.loc[finished, same])
    # the others: no scores, no outcome flags
    assert part.loc[~finished, list(SCORES)].isna().all().all()
    assert not part.loc[~finished, list(FLAGS)].any().any()
    # contact fields are kept for every pathway still open at, or discharged in, the period
    active = ~(disch < pd.Timestamp(start))
    contact = [
        "TherapySession_FirstDate",
        "TherapySession_SecondDate",
        "TreatmentCareContact_Count",
    ]
    pd.testing.assert_frame_equal(part.loc[active, contact], full.loc[active, contact])
