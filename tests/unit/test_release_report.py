"""The report's two copies: what the export copy withholds, what the checker's copy shows."""

from __future__ import annotations

import re
from pathlib import Path

from release_tables import hidden_values, leaky_table, recovery_table

from iaptkit.release import Release
from iaptkit.release.report import render_report


def _release(tmp_path: Path) -> Release:
    rel = Release.open_or_create(tmp_path / "rel", title="Report <test>")
    rel.add_table(recovery_table("recovery"), description="<script>alert(1)</script>")
    rel.add_table(leaky_table(), description="fails its audit")
    return rel


def test_export_copy_withholds_content_and_reasons_of_left_out_outputs(tmp_path: Path) -> None:
    rel = _release(tmp_path)
    page = render_report(rel, mode="export", exported=["recovery"])
    leaky = rel.output("leaky")
    assert leaky.status == "fail"
    section = re.search(r'<section[^>]*data-uid="leaky".*?</section>', page, re.S)
    assert section is not None
    assert "Content withheld" in section.group(0)
    assert not any(reason in section.group(0) for reason in leaky.reasons)
    assert "<table" not in section.group(0)
    # exported table shown, its suppressed cells highlighted, no underlying counts
    shown = re.search(r'<section[^>]*data-uid="recovery".*?</section>', page, re.S)
    assert shown is not None
    stars = recovery_table().cells["display"].astype(str).eq("*").sum()
    assert shown.group(0).count('<td class="suppressed">*</td>') == stars
    assert not any(secret in page for secret in hidden_values(recovery_table()))
    assert "CHECKER" not in page


def test_checker_copy_shows_everything_and_escapes_text(tmp_path: Path) -> None:
    rel = _release(tmp_path)
    page = render_report(rel, mode="checker", exported=["recovery"])
    assert "CHECKER&#x27;S COPY" in page  # escaped apostrophe
    for secret in hidden_values(recovery_table()) | hidden_values(leaky_table()):
        assert f"(true {secret})" in page
    assert "audit failed" in page  # the leaky table's reasons are there for the checker
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Report &lt;test&gt;" in page


#: A ledger as the commands and notebooks record it (docs/ledger.md); the last does not balance.
LEDGER = [
    {"table": "IDS101Referral", "rows_in_files": 551, "rows_used": 300,
     "rows_not_used": {"earlier_month_state": 251}},
    {"table": "IDS607CodedScoreAssessmentAct", "rows_in_files": 924, "rows_used": 863,
     "rows_not_used": {"score_not_integer": 61}},
    {"table": "IDS201CareContact", "rows_in_files": 10, "rows_used": 7, "rows_not_used": {}},
]  # fmt: skip


def test_checker_copy_has_the_ledger_sheet_of_each_output(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel", title="T")
    made = {
        "made_by": "notebooks/01.ipynb",
        "parameters": {"start": "2024-01-01", "ledger": LEDGER},
    }
    rel.add_text("No numbers here.", name="note", **made)
    page = render_report(rel, mode="checker")
    sheet = re.search(r'<table class="ledger">.*?</table>', page, re.S)
    assert sheet is not None
    rows = re.findall(
        r'<tr data-table="([^"]+)"( class="failed")?><th>[^<]+</th><td>(\d+)</td><td>(\d+)</td>'
        r"<td>([^<]*)</td></tr>",
        sheet.group(0),
    )
    assert rows == [
        ("IDS101Referral", "", "551", "300", "earlier_month_state 251"),
        ("IDS607CodedScoreAssessmentAct", "", "924", "863", "score_not_integer 61"),
        ("IDS201CareContact", ' class="failed"', "10", "7", "none (does not balance)"),
    ]
    # the parameters line does not repeat the ledger
    assert "score_not_integer 61" not in page.replace(sheet.group(0), "")
    # the export copy shows no row counts of the extract
    export = render_report(rel, mode="export", exported=["note"])
    assert 'class="ledger"' not in export
    assert "551" not in export


def test_a_malformed_ledger_is_shown_as_such(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel", title="T")
    bad = [{"table": "IDS101Referral", "rows_in_files": "many"}]
    rel.add_text("x", name="note", made_by="nb", parameters={"ledger": bad})
    page = render_report(rel, mode="checker")
    assert "The ledger of this output cannot be shown" in page
    assert "ValueError" in page


def test_the_export_bundle_leaves_the_ledger_inside(tmp_path: Path) -> None:
    from iaptkit.release import build

    rel = Release.open_or_create(tmp_path / "rel", title="T")
    params = {"start": "2024-01-01", "ledger": LEDGER}
    rel.add_table(recovery_table("recovery"), made_by="nb", parameters=params)
    result = build(tmp_path / "rel", tmp_path / "export")
    assert "recovery" in str(result)
    manifest = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "export").rglob("*.json"))
    assert "2024-01-01" in manifest  # the other parameters are there
    assert "score_not_integer" not in manifest
    assert "earlier_month_state" not in manifest
    assert "ledger" in Release.open(tmp_path / "rel").output("recovery").parameters
