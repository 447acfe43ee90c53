"""Identifiers in free text: a labelled corpus of files (written here), every identifier found
and no control flagged; small counts shown in a notebook's outputs fail like in a CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.release.checks import check_file
from iaptkit.release.findings import PolicyFacts

FACTS = PolicyFacts("nhs-sde", "1.0", 10, True, 5, "all")


def _nhs(nine: str) -> str:
    # check digit computed here, independently of the module under test (NHS Data Dictionary)
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    assert check != 10, nine
    return nine + str(check)


NHS_A = _nhs("943476591")  # 9434765919
NHS_B = _nhs("401023213")
INVALID = NHS_A[:9] + str((int(NHS_A[9]) + 1) % 10)
SPACED = f"{NHS_B[:3]} {NHS_B[3:6]} {NHS_B[6:]}"

# (text, the rule that must be found); every text appears in each kind of file below
POSITIVES = [
    (f"Patient NHS number {NHS_A} called the service", "nhs-number"),
    (f"client {SPACED} said sessions helped", "nhs-number"),
    ("Lives at 14 Park Road, Leeds LS6 2QD with partner", "postcode"),
    ("moved to SW1A1AA last month", "postcode"),
    ("DOB 03/07/1985, referred by GP", "date-of-birth"),
    ("born 12 March 1979 in Bradford", "date-of-birth"),
    ("date of birth: 1990-11-02", "date-of-birth"),
    ("Person_ID PSN0004172839 missed two appointments", "person-identifier"),
]
CONTROLS = [
    f"Reference {INVALID} is not an NHS number (check digit wrong)",
    "Referrals rose from 1,250 to 1,385 in the quarter (rounded to 5)",
    "Reporting period 2024-04-01 to 2025-03-31; published 12 June 2025",
    "Counts for April 2024 were 25, 30 and 45",
    "Provider RAA, sub-ICB 15F, ICD-10 F32.1, wait 6 weeks",
    "Recovery 52.3% (95% CI 50.1 to 54.5)",
]


def _corpus(root: Path) -> dict[Path, list[str]]:
    """Files with and without identifiers: path -> rules expected (empty: a control)."""
    files: dict[Path, list[str]] = {}
    for i, (text, rule) in enumerate(POSITIVES):
        csv = root / f"id_comment_{i}.csv"
        pd.DataFrame({"provider": ["RAA", "RAB"], "comment": ["fine", text]}).to_csv(
            csv, index=False
        )
        files[csv] = [rule]
        xlsx = root / f"id_cell_{i}.xlsx"
        pd.DataFrame({"note": [text, "none"]}).to_excel(xlsx, index=False)
        files[xlsx] = [rule]
        md = root / f"id_notes_{i}.md"
        md.write_text(f"# Notes\n\nAll good.\n\n{text}\n")
        files[md] = [rule]
        txt = root / f"id_notes_{i}.txt"
        txt.write_text(f"Summary\n{text}\n")
        files[txt] = [rule]
        nb = root / f"id_markdown_{i}.ipynb"
        nb.write_text(json.dumps(_notebook(markdown=text)))
        files[nb] = [rule]
        nb2 = root / f"id_stream_{i}.ipynb"
        nb2.write_text(json.dumps(_notebook(stream=text + "\n")))
        files[nb2] = [rule]
    for i, text in enumerate(CONTROLS):
        csv = root / f"ok_comment_{i}.csv"
        pd.DataFrame({"provider": ["RAA"], "comment": [text]}).to_csv(csv, index=False)
        files[csv] = []
        md = root / f"ok_notes_{i}.md"
        md.write_text(f"# Notes\n\n{text}\n")
        files[md] = []
        nb = root / f"ok_markdown_{i}.ipynb"
        nb.write_text(json.dumps(_notebook(markdown=text, stream=text)))
        files[nb] = []
    return files


def _notebook(markdown: str = "", stream: str = "") -> dict[str, object]:
    cells: list[dict[str, object]] = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Report\n", markdown]}
    ]
    if stream:
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": ["print(note)"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [stream]}],
            }
        )
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


IDENTIFIER_RULES = {"nhs-number", "postcode", "date-of-birth", "person-identifier"}


def test_labelled_corpus_every_identifier_found_no_control_flagged(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    assert sum(bool(v) for v in corpus.values()) >= 24
    missed, flagged = [], []
    for path, expected in corpus.items():
        report = check_file(path, policy=FACTS, allow=(".md", ".txt"))
        found = [f for f in report.findings if f.rule in IDENTIFIER_RULES]
        if expected:
            if not any(f.rule == expected[0] and f.severity == "fail" for f in found):
                missed.append((path.name, expected, report.findings))
            assert report.status == "fail", path.name
            # each finding names the file, a location and the rule, never the identifier
            for f in found:
                assert f.file == str(path)
                assert f.location
                assert f.rule in IDENTIFIER_RULES
                assert NHS_A not in f.message
                assert "LS6 2QD" not in f.message
        elif found:
            flagged.append((path.name, found))
    assert missed == []
    assert flagged == []


@pytest.mark.parametrize(
    ("path_suffix", "location"),
    [(".csv", "row 2, column comment"), (".txt", "line 2"), (".md", "line 5")],
)
def test_finding_locations(tmp_path: Path, path_suffix: str, location: str) -> None:
    corpus = _corpus(tmp_path)
    path = next(
        p
        for p in corpus
        if p.name == f"id_{'comment' if path_suffix == '.csv' else 'notes'}_0{path_suffix}"
    )
    report = check_file(path, policy=FACTS, allow=(".md", ".txt"))
    assert [(f.location, f.rule) for f in report.findings if f.rule == "nhs-number"] == [
        (location, "nhs-number")
    ]


def test_notebook_markdown_location(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_notebook(markdown=f"NHS {NHS_A}", stream="ok\n")))
    report = check_file(path, policy=FACTS)
    assert ("cell 0 (markdown)", "nhs-number") in [(f.location, f.rule) for f in report.findings]


def _output_notebook(output: dict[str, object]) -> dict[str, object]:
    cell = {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["x"]}
    cell["outputs"] = [output]
    return {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


SMALL = pd.DataFrame({"provider": ["RAA", "RAB"], "referrals": [150, 3]})
ROUNDED = pd.DataFrame({"provider": ["RAA", "RAB"], "referrals": [150, 45]})


@pytest.mark.parametrize(
    "make",
    [
        lambda df: {"output_type": "stream", "name": "stdout", "text": [str(df) + "\n"]},
        lambda df: {"output_type": "stream", "name": "stdout",
                    "text": [str(df.set_index("provider")) + "\n"]},
        lambda df: {"output_type": "stream", "name": "stdout",
                    "text": ["Totals\n\n" + str(df.set_index("provider")["referrals"]) + "\n"]},
        lambda df: {"output_type": "display_data", "metadata": {},
                    "data": {"text/html": [df.to_html()], "text/plain": [str(df)]}},
        lambda df: {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                    "data": {"text/plain": [str(df)]}},
    ],
    ids=["stream-frame", "stream-indexed", "stream-series", "html", "execute-result"],
)  # fmt: skip
def test_small_counts_in_notebook_outputs_fail_like_a_csv(tmp_path: Path, make: object) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(_output_notebook(make(SMALL))))  # type: ignore[operator]
    csv = tmp_path / "bad.csv"
    SMALL.to_csv(csv, index=False)
    assert check_file(csv, policy=FACTS).status == "fail"
    report = check_file(bad, policy=FACTS)
    assert report.status == "fail", report.findings
    assert any("small-count" in f.message for f in report.findings)
    good = tmp_path / "good.ipynb"
    good.write_text(json.dumps(_output_notebook(make(ROUNDED))))  # type: ignore[operator]
    assert check_file(good, policy=FACTS).status == "review"


@pytest.mark.parametrize(
    ("text", "fails"),
    [
        ("Recovery was 3 people in RAB.", True),
        ("Only 2 new referrals came from RAC", True),
        ("0 patients finished treatment at RAD", True),
        ("Recovery was 150 people in RAB.", False),
        ("Median wait 6 weeks; 52.3% recovered", False),
        ("Reporting period 2024-04-01 to 2025-03-31", False),
    ],
)
def test_counts_of_people_written_in_text(tmp_path: Path, text: str, fails: bool) -> None:
    txt = tmp_path / "notes.txt"
    txt.write_text(f"Summary\n{text}\n")
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(_notebook(markdown="# ok", stream=text + "\n")))
    for path in (txt, nb):
        report = check_file(path, policy=FACTS, allow=(".txt",))
        small = [f for f in report.findings if f.rule == "small-count"]
        assert bool(small) == fails, (path.name, report.findings)
        assert report.status == ("fail" if fails else "review")
