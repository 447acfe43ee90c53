"""The analyst's view of protected tables: numbers, a status per cell, no truth of hidden cells."""

from __future__ import annotations

import re

import pandas as pd

from iaptkit.sdc import protect, protect_measures

PERIOD = {"period_start": "2024-04-01", "period_end": "2024-06-30"}


def _measures() -> pd.DataFrame:
    rows = []
    deciles = {"1": 103, "2": 207, "10": 7, "Unknown": 83}  # 7 is below every threshold
    total = sum(deciles.values())
    rows.append(("england", "England", "referrals_received", total, "count"))
    for d, v in deciles.items():
        rows.append(("imd_decile", d, "referrals_received", v, "count"))
        rows.append(("provider x imd_decile", f"RAA | {d}", "referrals_received", v, "count"))
    rows.append(("provider", "RAA", "referrals_received", total, "count"))
    return pd.DataFrame(
        [dict(PERIOD, breakdown=b, group=g, measure=m, value=v, kind=k) for b, g, m, v, k in rows]
    )


def test_measures_view_is_numeric_with_a_status_and_one_column_per_breakdown() -> None:
    res = protect_measures(_measures(), "nhs-sde")
    pub = res.published()
    assert str(pub["value"].dtype) == "Float64"
    assert str(pub["numerator"].dtype) == "Int64"
    assert "group" not in pub.columns
    assert {"provider", "imd_decile"} <= set(pub.columns)
    combined = pub[pub["breakdown"] == "provider x imd_decile"]
    assert set(combined["provider"]) == {"RAA"}
    # IMD deciles sort as numbers, Unknown last
    assert pub["imd_decile"].cat.ordered
    # every decile is a row (those nobody is in: counts of 0, suppressed)
    expected = [str(d) for d in range(1, 11)] + ["Unknown"]
    assert pub["imd_decile"].cat.categories.tolist() == expected
    absent = pub[(pub["breakdown"] == "imd_decile") & (pub["imd_decile"] == "5")]
    assert absent["status"].tolist() == ["suppressed"]
    hidden = pub[pub["status"] == "suppressed"]
    assert len(hidden) >= 2
    assert hidden["value"].isna().all()
    assert set(pub["status"]) <= {"published", "rounded", "suppressed", "missing"}
    shown = pub[pub["status"] == "rounded"]
    assert (shown["value"] % 5 == 0).all()  # published values, not the truth (103, 207, 83)
    row = pub[(pub["breakdown"] == "imd_decile") & (pub["imd_decile"] == "2")]
    assert row["value"].tolist() == [205.0]


def test_measures_export_writes_markers_only_in_the_csv(tmp_path) -> None:
    res = protect_measures(_measures(), "nhs-sde")
    path = res.to_csv(tmp_path / "m.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    hidden = back["status"] == "suppressed"
    assert (back.loc[hidden, "value"] == "*").all()
    assert "primary" not in set(back["status"])
    assert "secondary" not in set(back["status"])
    assert back.loc[back["breakdown"] == "england", "value"].tolist() == ["400"]


def test_no_true_value_of_a_suppressed_cell_in_reprs() -> None:
    df = pd.DataFrame({"imd": ["1", "2", "10"], "n": [20, 7, 40]})
    pt = protect(df, ["imd"], "n", policy="nhs-sde", margins=False)
    pub = pt.published()
    assert pub.loc[pub["imd"] == "2", "value"].isna().all()
    assert pub["imd"].cat.categories.tolist() == ["1", "2", "10"]
    assert str(pub["value"].dtype) == "Int64"
    html = pt._repr_html_()
    assert ">7<" not in html
    assert "data-status='suppressed'" in html
    assert "primary" not in html
    assert "secondary" not in html
    assert "7" not in repr(pt).replace("v1.1", "")
    res = protect_measures(_measures(), "nhs-sde")
    text = repr(res)
    assert len(text) < 400
    assert "ProtectedMeasures" in text
    assert "rates from published counts" in text


def test_extract_repr_is_one_short_line() -> None:
    from iaptkit.data import load_extract

    ex = load_extract({"IDS201CareContact": pd.DataFrame({"PathwayID": ["P1"]})})
    text = repr(ex)
    ex.close()
    assert "\n" not in text
    assert len(text) < 300
    assert "IDS201CareContact" in text


def test_measures_notebook_display_shades_suppressed_rows_without_their_truth() -> None:
    res = protect_measures(_measures(), "nhs-sde")
    html = res._repr_html_()
    hidden = res.underlying().query("status in ['primary', 'secondary']")
    assert len(hidden) >= 2
    assert html.count("<tr data-status='suppressed'") == len(hidden)
    # every suppressed row shows * in each number column, never its true value (a label
    # column may hold the same digits: IMD decile 7 beside a hidden 7)
    header = re.findall(r"<th>(.*?)</th>", html)
    numbers = [header.index(c) for c in ("value", "numerator", "denominator", "ci_lower")]
    rows = re.findall(r"<tr data-status='suppressed'[^>]*>(.*?)</tr>", html)
    assert len(rows) == len(hidden)
    for row in rows:
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert [cells[i] for i in numbers] == ["*"] * len(numbers), row
        # a breakdown the row is not of is blank, not a suppressed *
        if cells[header.index("breakdown")] == "imd_decile":
            assert cells[header.index("provider")] == "", row
    assert "primary" not in html
    assert "secondary" not in html


def test_validation_report_and_run_summary_reprs_are_short() -> None:
    from iaptkit.data.validation_report import Problem, ValidationReport
    from iaptkit.notebooks.runner import RunSummary

    fields = Problem.__dataclass_fields__
    assert "rule" in fields
    report = ValidationReport(source="x", problems=(), table_rows={"IDS101Referral": 12})
    assert repr(report) == (
        "<ValidationReport 'x': 0 problems (0 fatal, 0 error, 0 warning, 0 info); 12 rows in 1 "
        "tables>"
    )
    assert repr(RunSummary()) == "<RunSummary: 0 runs, 0 failed>"
