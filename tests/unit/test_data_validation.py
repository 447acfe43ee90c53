"""Validation: one test per rule, exact counts and messages (iaptkit.data.validation)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from data_builder import frames

from iaptkit.cli.data import validate_command
from iaptkit.data import load_extract
from iaptkit.data.validation import validate
from iaptkit.data.validation_report import Problem, ValidationReport

Tables = dict[str, pd.DataFrame]


def report_for(change: Callable[[Tables], None] | None = None) -> ValidationReport:
    tables = frames()
    if change is not None:
        change(tables)
    with load_extract(tables) as ex:
        return validate(ex)


def only(report: ValidationReport, rule: str) -> Problem:
    found = [p for p in report.problems if p.rule == rule]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def clean() -> ValidationReport:
    return report_for()


def test_a_clean_extract_has_no_errors(clean: ValidationReport) -> None:
    assert clean.ok
    assert not clean.fatal
    assert {p.severity for p in clean.problems} == {"info"}
    assert clean.table_rows["IDS101Referral"] == 6
    assert clean.definitions_version


def drop_table_and_column(t: Tables) -> None:
    t.pop("IDS202CareActivity")
    t["IDS201CareContact"] = t["IDS201CareContact"].drop(columns=["AppType"])


@pytest.fixture(scope="module")
def incomplete() -> ValidationReport:
    return report_for(drop_table_and_column)


def test_missing_table_is_fatal_only_for_required_tables(incomplete: ValidationReport) -> None:
    problem = only(incomplete, "missing_table")
    assert (problem.severity, problem.table, problem.rows) == ("fatal", "IDS202CareActivity", 0)
    assert problem.message.startswith(
        "Required table IDS202CareActivity is missing from DataFrames; tables present: "
        "IDS000Header, IDS001MPI, IDS101Referral, IDS201CareContact, "
    )
    assert incomplete.fatal
    # IDS205 and IDS004 are optional and absent from the builder: no problem for them
    assert not any(
        p.table in ("IDS205InternetTherLog", "IDS004EmpStatus") for p in incomplete.problems
    )


def test_missing_column_is_fatal_for_required_columns_only(incomplete: ValidationReport) -> None:
    problem = only(incomplete, "missing_column")
    assert (problem.severity, problem.table, problem.column) == (
        "fatal",
        "IDS201CareContact",
        "AppType",
    )
    assert "Required column AppType is missing from table 'IDS201CareContact'" in problem.message
    assert "columns present: UniqueSubmissionID, Unique_MonthID" in problem.message
    # the other rules still ran (lazy): superseded rows are still reported
    assert any(p.rule == "superseded_submission" for p in incomplete.problems)


def add_faults(t: Tables) -> None:
    """Every value and cross-table fault at once, each on rows no other fault touches."""
    contacts = t["IDS201CareContact"]
    contacts.loc[[1, 3], "CareContDate"] = ["2024-02-30", "n/a"]  # unparseable_date x2
    contacts.loc[0, "AttendOrDNACode"] = "9"  # code_not_in_list
    contacts.loc[[1, 2], "AppType"] = ["2", "3"]  # code_not_in_list x2
    orphan = contacts.iloc[[4]].assign(PathwayID="PX", CareContactId="CX")  # orphan_pathway
    twice = contacts.iloc[[2, 2, 4]]  # duplicate_key: row 2 three times, row 4 twice
    t["IDS201CareContact"] = pd.concat([contacts, orphan, twice], ignore_index=True)
    referrals = t["IDS101Referral"]
    referrals.loc[4, "Age_ReferralRequest_ReceivedDate"] = "seventy"  # unparseable_int
    referrals.loc[[0, 2], "UsePathway_Flag"] = ["maybe", "NO"]  # invalid_bool x1 ("NO" is valid)
    referrals.loc[3, "ServDischDate"] = "2024-05-01"  # discharge_before_referral
    referrals.loc[5, "RecordNumber"] = "99"  # orphan_record
    scores = t["IDS607CodedScoreAssessmentAct"]
    scores.loc[[0, 1, 2], "PersScore"] = ["abc", "35", "5.01"]  # unparseable, 2 out of range
    refer = t["IDS606CodedScoreAssessmentRefer"]
    refer.loc[1, "PersScore"] = "21"  # GAD-7 maximum: valid
    refer.loc[0, "CodedAssToolType"] = "1111111000000100"  # unknown_score_tool (no measure)
    refer.loc[0, "PathwayID"] = "P3"  # orphan_pathway: P3 is only in superseded submission 101


@pytest.fixture(scope="module")
def faulty() -> ValidationReport:
    return report_for(add_faults)


def test_unparseable_date(faulty: ValidationReport) -> None:
    problem = only(faulty, "unparseable_date")
    assert (problem.severity, problem.table, problem.column, problem.rows) == (
        "error",
        "IDS201CareContact",
        "CareContDate",
        2,
    )
    assert problem.message == (
        "2 rows of IDS201CareContact.CareContDate do not parse as an ISO date YYYY-MM-DD "
        "(or a timestamp); they are treated as missing."
    )
    assert sorted(problem.examples) == [
        "PathwayID='P1' UniqueSubmissionID='102' CareContactId='C1' value='2024-02-30'",
        "PathwayID='P1' UniqueSubmissionID='103' CareContactId='C2' value='n/a'",
    ]


def test_unparseable_int(faulty: ValidationReport) -> None:
    problem = only(faulty, "unparseable_int")
    assert (problem.table, problem.column, problem.rows) == (
        "IDS101Referral",
        "Age_ReferralRequest_ReceivedDate",
        1,
    )
    assert problem.message == (
        "1 row of IDS101Referral.Age_ReferralRequest_ReceivedDate do not parse as a whole "
        "number; they are treated as missing."
    )
    assert problem.examples == ("PathwayID='P2' UniqueSubmissionID='201' value='seventy'",)


def test_invalid_bool(faulty: ValidationReport) -> None:
    problem = only(faulty, "invalid_bool")
    # "NO" is a valid spelling of false; "maybe" is not
    assert (problem.column, problem.rows) == ("UsePathway_Flag", 1)
    assert problem.message.startswith("1 row of IDS101Referral.UsePathway_Flag are not true/false")
    assert problem.examples == ("PathwayID='P1' UniqueSubmissionID='101' value='maybe'",)


def test_code_not_in_list(faulty: ValidationReport) -> None:
    found = {p.column: p for p in faulty.problems if p.rule == "code_not_in_list"}
    # row 2 (AppType "3") is also duplicated twice: 2 + 2 rows with a bad AppType
    assert {c: p.rows for c, p in found.items()} == {"AppType": 4, "AttendOrDNACode": 1}
    assert found["AppType"].message == (
        "4 rows of IDS201CareContact.AppType are not in the code list 01, 02, 03, 05, 06; "
        "they are treated as missing."
    )


@pytest.fixture(scope="module")
def from_folder(tmp_path_factory: pytest.TempPathFactory) -> ValidationReport:
    """Parquet files, one code column written as integers, plus files that are not tables."""
    folder = tmp_path_factory.mktemp("extract")
    for name, frame in frames().items():
        if name == "IDS201CareContact":
            frame = frame.assign(AttendOrDNACode=frame.AttendOrDNACode.astype("int64"))
        frame.to_parquet(folder / f"{name}.parquet")
    (folder / "notes.xlsx").write_bytes(b"")
    (folder / "_synth.json").write_text("{}")
    with load_extract(folder) as ex:
        return validate(ex)


def test_code_arriving_as_a_number_is_a_warning(from_folder: ValidationReport) -> None:
    problem = only(from_folder, "code_numeric_type")
    assert (problem.severity, problem.column, problem.rows) == ("warning", "AttendOrDNACode", 5)
    assert "arrived as a number (int64)" in problem.message
    assert "without zero-padding" in problem.message
    assert from_folder.ok  # still no error: the values are valid codes


def test_score_unparseable(faulty: ValidationReport) -> None:
    bad = only(faulty, "score_unparseable")
    assert (bad.table, bad.column, bad.rows) == ("IDS607CodedScoreAssessmentAct", "PersScore", 1)
    assert bad.examples == ("PathwayID='P1' UniqueSubmissionID='102' CareActId='A1' value='abc'",)


def test_score_out_of_range(faulty: ValidationReport) -> None:
    # PHQ-9 35 > 27 and Mobility Inventory 5.01 > 5.00; GAD-7 21 is the valid maximum
    out = only(faulty, "score_out_of_range")
    assert (out.table, out.rows) == ("IDS607CodedScoreAssessmentAct", 2)
    assert "PHQ-9 0-27" in out.message
    assert sorted(e.split("value=")[1] for e in out.examples) == ["'35'", "'5.01'"]


def test_unknown_score_tool_is_info(faulty: ValidationReport) -> None:
    problem = only(faulty, "unknown_score_tool")
    assert (problem.severity, problem.table, problem.rows) == (
        "info",
        "IDS606CodedScoreAssessmentRefer",
        1,
    )
    assert problem.examples[0].endswith("value='1111111000000100'")


def test_discharge_before_referral(faulty: ValidationReport) -> None:
    problem = only(faulty, "discharge_before_referral")
    assert (problem.table, problem.column, problem.rows) == ("IDS101Referral", "ServDischDate", 1)
    assert problem.examples == ("PathwayID='P1' UniqueSubmissionID='103' value='2024-05-01'",)


def test_orphan_pathway(faulty: ValidationReport) -> None:
    found = {p.table: p for p in faulty.problems if p.rule == "orphan_pathway"}
    # PX has no referral at all; P3 only one in a superseded submission
    assert {t: p.rows for t, p in found.items()} == {
        "IDS201CareContact": 1,
        "IDS606CodedScoreAssessmentRefer": 1,
    }
    assert found["IDS201CareContact"].examples == ("PathwayID='PX' UniqueSubmissionID=201",)
    assert found["IDS606CodedScoreAssessmentRefer"].examples == (
        "PathwayID='P3' UniqueSubmissionID=102",
    )


def test_orphan_record(faulty: ValidationReport) -> None:
    problem = only(faulty, "orphan_record")
    assert (problem.table, problem.column, problem.rows) == ("IDS101Referral", "RecordNumber", 1)
    assert problem.message.startswith(
        "1 row of IDS101Referral have a RecordNumber with no IDS001MPI row in the same submission"
    )


def test_duplicate_key(faulty: ValidationReport) -> None:
    problem = only(faulty, "duplicate_key")
    # row 2 three times (2 extra) and row 4 twice (1 extra)
    assert (problem.table, problem.column, problem.rows) == (
        "IDS201CareContact",
        "CareContactId",
        3,
    )
    assert "repeat the key (UniqueSubmissionID, PathwayID, CareContactId)" in problem.message


def test_every_problem_is_reported_at_once(faulty: ValidationReport) -> None:
    errors = {p.rule for p in faulty.problems if p.severity == "error"}
    assert errors == {
        "unparseable_date",
        "unparseable_int",
        "invalid_bool",
        "code_not_in_list",
        "score_unparseable",
        "score_out_of_range",
        "discharge_before_referral",
        "orphan_pathway",
        "orphan_record",
        "duplicate_key",
    }
    assert not faulty.fatal


def test_superseded_submission_and_pathway_flag_false_are_info(clean: ValidationReport) -> None:
    counts = clean.counts()
    assert counts["superseded_submission"] == {
        "IDS000Header.UniqueSubmissionID": 1,
        "IDS001MPI.UniqueSubmissionID": 2,
        "IDS101Referral.UniqueSubmissionID": 2,
        "IDS201CareContact.UniqueSubmissionID": 1,
    }
    assert counts["pathway_flag_false"] == {"IDS101Referral.UniqueSubmissionID": 1}


def test_unknown_file_is_info(from_folder: ValidationReport) -> None:
    # _synth.json is iaptkit metadata, not an unknown file
    problem = only(from_folder, "unknown_file")
    assert (problem.severity, problem.table, problem.rows) == ("info", "notes.xlsx", 1)


def test_report_json_and_exit_codes(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    for name, frame in frames().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    out = tmp_path / "report.json"
    assert validate_command(str(folder), json_out=out) == 0
    data = json.loads(out.read_text())
    assert data["fatal"] is False
    assert data["summary"] == {"fatal": 0, "error": 0, "warning": 0, "info": 5}
    assert data["problems"][0]["rule"] == "superseded_submission"
    (folder / "IDS202CareActivity.csv").unlink()
    assert validate_command(str(folder), json_out=out) == 1
    assert json.loads(out.read_text())["problems"][0]["rule"] == "missing_table"


def test_age_below_the_youngest_band_is_an_error() -> None:
    def negative_ages(t: Tables) -> None:
        t["IDS101Referral"].loc[[1, 2], "Age_ReferralRequest_ReceivedDate"] = ["-3", "0"]

    report = report_for(negative_ages)
    problem = only(report, "age_out_of_range")
    assert (problem.severity, problem.table, problem.rows) == ("error", "IDS101Referral", 1)
    assert problem.column == "Age_ReferralRequest_ReceivedDate"
    assert problem.examples[0].endswith("value='-3'")
    assert "an age of at least 0" in problem.message
    assert "unknown age band" in problem.message
    assert not [p for p in report_for().problems if p.rule == "age_out_of_range"]


def test_control_characters_in_text_are_a_warning_naming_the_rows() -> None:
    def damaged(t: Tables) -> None:
        t["IDS201CareContact"].loc[[0, 3], "ConsMechanism"] = ["\x00\x0002", "01\x1f"]
        t["IDS101Referral"].loc[2, "PathwayID"] = t["IDS101Referral"].loc[2, "PathwayID"] + "\x7f"
        t["IDS201CareContact"].loc[1, "ConsMechanism"] = "\t02 "  # blanks: not control bytes

    report = report_for(damaged)
    found = {(p.table, p.column): p for p in report.problems if p.rule == "control_characters"}
    assert set(found) == {("IDS201CareContact", "ConsMechanism"), ("IDS101Referral", "PathwayID")}
    contacts = found[("IDS201CareContact", "ConsMechanism")]
    assert (contacts.severity, contacts.rows) == ("warning", 2)
    assert any("value='\\x00\\x0002'" in e for e in contacts.examples)
    assert found[("IDS101Referral", "PathwayID")].rows == 1
    assert "control characters" in contacts.message
    assert not [p for p in report_for().problems if p.rule == "control_characters"]


def test_an_empty_table_is_a_warning_naming_it() -> None:
    def no_contacts(t: Tables) -> None:
        t["IDS201CareContact"] = t["IDS201CareContact"].head(0)

    problem = only(report_for(no_contacts), "empty_table")
    assert (problem.severity, problem.table, problem.rows) == ("warning", "IDS201CareContact", 0)
    assert "has no rows" in problem.message
    assert not [p for p in report_for().problems if p.rule == "empty_table"]


def test_a_damaged_parquet_file_is_named_as_parquet(tmp_path: Path) -> None:
    from iaptkit.data.csv_files import read_error_message

    err = ValueError("Invalid Input Error: No magic bytes found at end of file 'x.parquet'")
    text = read_error_message("IDS001MPI", str(tmp_path / "IDS001MPI.parquet"), err)
    assert "Expected a complete Parquet file" in text
    assert "UTF-8" not in text
    csv_text = read_error_message("IDS001MPI", "IDS001MPI.csv", err)
    assert "UTF-8 encoded file with one header line" in csv_text
