"""File checks: each rule at its boundary, under real policies."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.release.checks import check_file
from iaptkit.release.checks_tables import check_frame
from iaptkit.release.findings import PolicyFacts, policy_facts
from iaptkit.release.identifiers import is_nhs_number
from iaptkit.sdc import load_policy


def _rules(frame: pd.DataFrame, policy: str = "nhs-sde") -> list[tuple[str, str]]:
    return [(f.rule, f.location) for f in check_frame(frame, "t.csv", policy_facts(policy))]


def _nhs_check_digit(nine: str) -> int:
    # computed here independently of the module under test (NHS Data Dictionary rule)
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    return 0 if check == 11 else check


def test_nhs_number_modulus_11() -> None:
    nine = "401023213"
    digit = _nhs_check_digit(nine)
    assert digit != 10
    assert is_nhs_number(nine + str(digit))
    assert is_nhs_number(f"{nine[:3]} {nine[3:6]} {nine[6:]}{digit}")
    assert not is_nhs_number(nine + str((digit + 1) % 10))
    assert not is_nhs_number("12345")
    assert not is_nhs_number(nine + str(digit) + "1")


def test_policy_facts_from_real_policies() -> None:
    sde = policy_facts("nhs-sde")
    assert (sde.threshold, sde.zeros_suppressed, sde.rounding_base) == (10, True, 5)
    hes = policy_facts(load_policy("nhs-hes"))
    assert hes.suppressed(7)
    assert not hes.suppressed(8)
    assert not hes.suppressed(0)
    tt = policy_facts("nhs-talking-therapies")
    assert tt.rounding_applies_to == "sub-national"


@pytest.mark.parametrize(
    ("policy", "value", "expected"),
    [
        ("nhs-sde", 9, [("small-count", "row 1, column n")]),
        ("nhs-sde", 10, []),
        ("nhs-sde", 0, [("small-count", "row 1, column n")]),
        ("nhs-sde", 12, [("unrounded-count", "row 1, column n")]),
        ("nhs-hes", 0, []),  # zeros shown under HES
        ("nhs-hes", 7, [("small-count", "row 1, column n")]),
        ("sdap", 13, []),  # no rounding under sdap
        ("sdap", 9, [("small-count", "row 1, column n")]),
    ],
)
def test_count_boundaries(policy: str, value: int, expected: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame({"group": ["a", "b"], "n": [str(value), "*"]})
    assert _rules(frame, policy) == expected


def test_unrounded_is_review_when_national_counts_may_be_unrounded() -> None:
    frame = pd.DataFrame({"area": ["England"], "referrals": ["123456"]})
    findings = check_frame(frame, "t.csv", policy_facts("nhs-talking-therapies"))
    assert [(f.rule, f.severity) for f in findings] == [("unrounded-count", "review")]


def test_rates_ids_and_years_are_not_counts() -> None:
    frame = pd.DataFrame({"year": ["2023"], "recovery_rate": ["3"], "age_band": ["2"], "n": ["15"]})
    assert _rules(frame) == []


def test_the_measure_family_number_is_not_a_count() -> None:
    # `iaptkit measures` output: `family` numbers the measure family (0-7), not people
    frame = pd.DataFrame({"family": ["6", "6"], "measure": ["a", "b"], "value": ["15", "*"]})
    assert _rules(frame) == []
    assert _rules(frame.rename(columns={"family": "n"})) == [
        ("small-count", "row 1, column n"),
        ("small-count", "row 2, column n"),
    ]


def test_identifier_rules() -> None:
    digit = _nhs_check_digit("401023213")
    frame = pd.DataFrame(
        {
            "person_id": ["x"],
            "where": ["SW1A 1AA"],
            "number": [f"401023213{digit}"],
            "DOB": ["2001-01-01"],
        }
    )
    assert _rules(frame) == [
        ("identifier-column", "column person_id"),
        ("postcode", "row 1, column where"),
        ("nhs-number", "row 1, column number"),
        ("date-of-birth", "column DOB"),
    ]


def test_record_level_needs_many_unique_id_like_rows() -> None:
    ids = [f"ID{100000 + i}" for i in range(20)]
    assert _rules(pd.DataFrame({"ref": ids})) == [("record-level", "column ref")]
    assert _rules(pd.DataFrame({"ref": ids[:19]})) == []  # below 20 rows
    repeated = [*ids[:19], ids[0]]
    assert _rules(pd.DataFrame({"ref": repeated})) == []


def _notebook(path: Path, outputs: list[dict[str, object]]) -> Path:
    cell = {"cell_type": "code", "metadata": {}, "source": "x", "outputs": outputs}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4}))
    return path


def test_notebook_frames(tmp_path: Path) -> None:
    facts = PolicyFacts("p", "1", 10, True, 5, "all")
    stripped = check_file(_notebook(tmp_path / "a.ipynb", []), policy=facts)
    assert (stripped.status, stripped.findings) == ("pass", ())
    long_text = "   id  score\n" + "\n".join(f"{i}  P{i}  20" for i in range(150))
    long_text += "\n\n[150 rows x 2 columns]"
    big = _notebook(
        tmp_path / "b.ipynb",
        [{"output_type": "execute_result", "data": {"text/plain": long_text}, "metadata": {}}],
    )
    report = check_file(big, policy=facts)
    assert report.status == "fail"
    assert [(f.rule, f.location) for f in report.findings] == [
        ("notebook-table", "cell 0, output 0")
    ]


def test_file_types_and_allow_list(tmp_path: Path) -> None:
    facts = PolicyFacts("p", "1", 10, True, 5, "all")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    assert check_file(txt, policy=facts).status == "fail"
    allowed = check_file(txt, policy=facts, allow=["txt"])
    assert allowed.status == "review"
    link = tmp_path / "link.csv"
    link.symlink_to(txt)
    assert check_file(link, policy=facts).findings[0].message == "symbolic link: refused"
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    assert check_file(broken, policy=facts).findings[0].rule == "unreadable"


def test_notebook_image_and_stream_outputs_are_reported_for_review(tmp_path: Path) -> None:
    facts = PolicyFacts("p", "1", 10, True, 5, "all")
    outputs: list[dict[str, object]] = [
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
    ]
    report = check_file(_notebook(tmp_path / "c.ipynb", outputs), policy=facts)
    assert report.status == "review"
    assert [(f.rule, f.location, f.message) for f in report.findings] == [
        ("notebook-output", "cell 0, output 0", "display_data (image/png)"),
        ("notebook-output", "cell 0, output 1", "stream (stdout)"),
    ]
