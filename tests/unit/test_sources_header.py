"""The header check of text tables: a file written with another separator is named as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from iaptkit.data.csv_files import check_header
from iaptkit.data.ledger import Ledger, TableLedger
from iaptkit.errors import ExtractError

HEADER = ["UniqueSubmissionID", "Unique_MonthID", "OrgID_Provider", "PathwayID"]


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs"), ("|", "pipes")])
def test_a_csv_with_another_separator_is_refused_naming_it(
    tmp_path: Path, sep: str, word: str
) -> None:
    path = tmp_path / "IDS101Referral.csv"
    path.write_text(sep.join(f'"{c}"' for c in HEADER) + "\n" + sep.join("1234") + "\n")
    with pytest.raises(ExtractError) as err:
        check_header("IDS101Referral", path, ",")
    text = str(err.value)
    assert f"separated by {word}" in text
    assert "expected the columns separated by commas" in text
    assert "IDS101Referral" in text
    assert str(path) in text
    assert "row 1" in text


def test_a_pipe_txt_with_commas_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "IDS101Referral.txt"
    path.write_text(",".join(HEADER) + "\n")
    with pytest.raises(ExtractError, match=r"separated by commas; expected .* pipes"):
        check_header("IDS101Referral", path, "|")


def test_a_good_header_and_a_one_column_header_pass(tmp_path: Path) -> None:
    path = tmp_path / "IDS101Referral.csv"
    path.write_text(",".join(HEADER) + "\n1,2,3,4\n")
    assert check_header("IDS101Referral", path, ",") == HEADER
    path.write_text("PathwayID\nPW1\n")  # one column, no other separator in it
    assert check_header("IDS101Referral", path, ",") == ["PathwayID"]


def test_a_refused_ledger_balances_with_every_row_refused() -> None:
    read = Ledger((TableLedger("IDS001MPI", 7, 0, {}), TableLedger("IDS101Referral", 0, 0, {})))
    refused = read.refused()
    assert refused.balanced
    assert refused.to_records() == [
        {
            "table": "IDS001MPI",
            "rows_in_files": 7,
            "rows_used": 0,
            "rows_not_used": {"extract_refused": 7},
        },
        {"table": "IDS101Referral", "rows_in_files": 0, "rows_used": 0, "rows_not_used": {}},
    ]
    assert Ledger.from_records(refused.to_records()).to_records() == refused.to_records()


def test_a_comma_at_the_end_of_every_line_reads_the_rows_as_written(tmp_path: Path) -> None:
    from iaptkit.data import load_extract

    rows = [["1", "1477", "RAA", "PW1"], ["1", "1477", "RAA", "PW2"]]
    path = tmp_path / "IDS101Referral.csv"
    path.write_text("".join(",".join(r) + ",\n" for r in [HEADER, *rows]))
    assert check_header("IDS101Referral", path, ",") == [*HEADER, "unnamed_5"]
    with load_extract(tmp_path) as ex:
        read = ex.raw("IDS101Referral").execute()
    assert read["PathwayID"].tolist() == ["PW1", "PW2"]
    assert read["OrgID_Provider"].tolist() == ["RAA", "RAA"]
    # a blank name between two columns is a column of its own, not a merge of its neighbours
    path.write_text("PathwayID,,OrgID_Provider\nPW1,x,RAA\n")
    assert check_header("IDS101Referral", path, ",") == ["PathwayID", "unnamed_2", "OrgID_Provider"]
