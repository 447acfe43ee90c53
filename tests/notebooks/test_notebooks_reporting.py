"""Notebook support: parameters resolved, pathway indicators, field quality."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.data import load_extract
from iaptkit.errors import ConfigError
from iaptkit.notebooks.context import (
    default_release_dir,
    find_demo_extract,
    pathway_indicators,
    setup_notebook,
)
from iaptkit.notebooks.quality import field_quality
from iaptkit.synth.generate import write_synthetic

BASE = {
    "extract": "/x/extract",
    "start": "2023-04-01",
    "end": "2024-03-31",
    "provider": "",
    "policy": "nhs-sde",
    "output_dir": "",
}


def test_setup_notebook_resolves_and_checks_period() -> None:
    ctx = setup_notebook("nb", {**BASE, "provider": "R1A", "output_dir": "/y/rel"})
    assert (ctx.start, ctx.end) == (date(2023, 4, 1), date(2024, 3, 31))
    assert ctx.scope == "provider R1A"
    assert ctx.suffix() == "_R1A_20230401_20240331"
    other = setup_notebook("nb", {**BASE, "policy": "policies/strict.yaml", "end": "2023-06-30"})
    assert other.suffix() == "_20230401_20230630_policy_strict"
    assert ctx.release_dir == Path("/y/rel")
    assert setup_notebook("nb", BASE).release_dir == Path("/x/release")
    with pytest.raises(ConfigError, match="before its start"):
        setup_notebook("nb", {**BASE, "start": "2024-04-01"})


def test_find_demo_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IAPTKIT_DEMO_EXTRACT", raising=False)
    (tmp_path / "demo" / "extract").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    assert find_demo_extract(tmp_path / "notebooks") == str(tmp_path / "demo" / "extract")
    monkeypatch.setenv("IAPTKIT_DEMO_EXTRACT", "/elsewhere")
    assert find_demo_extract(tmp_path) == "/elsewhere"
    monkeypatch.delenv("IAPTKIT_DEMO_EXTRACT")
    with pytest.raises(ConfigError, match="no demo extract found"):
        find_demo_extract(Path("/"))
    assert default_release_dir("a/b/extract") == Path("a/b/release")


@pytest.fixture(scope="module")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rep") / "extract"
    write_synthetic(folder, pathways=600, providers=3, months=6, with_nhs_fields=True, seed=3)
    return folder


def test_pathway_indicators_cohorts_and_provider_filter(small_extract: Path) -> None:
    ext = load_extract(small_extract)
    start, end = date(2023, 4, 1), date(2023, 9, 30)
    everyone = pathway_indicators(ext, start, end)
    assert everyone["PathwayID"].is_unique
    # cohort flags agree with the dates they are defined by (docs/measures.md section 2)
    period = everyone["ReferralRequestReceivedDate"].between(pd.Timestamp(start), pd.Timestamp(end))
    assert (everyone["referrals_received"] == period).all()
    finished = everyone["finished_treatment"]
    assert (everyone.loc[finished, "TreatmentCareContact_Count"] >= 2).all()
    assert (everyone["at_caseness"] == (finished & ~everyone["not_at_caseness"])).all()
    assert (everyone["recovered"] <= everyone["finished_treatment"]).all()
    assert (everyone["waited_6_weeks"] <= everyone["waited_18_weeks"]).all()
    provider = sorted(everyone["provider"].unique())[0]
    steps: list[tuple[str, int, int]] = []
    one = pathway_indicators(
        ext, start, end, provider=provider, progress=lambda *s: steps.append(s)
    )
    expected = everyone.loc[everyone["provider"] == provider].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, expected)
    # long work reports each step, ending complete (a bar in Jupyter: progress_bar)
    assert [done for _, done, _ in steps] == [0, 1, 2, 3]
    assert {total for _, _, total in steps} == {3}


def test_a_provider_with_no_pathway_is_refused_naming_those_present(small_extract: Path) -> None:
    ext = load_extract(small_extract)
    start, end = date(2023, 4, 1), date(2023, 9, 30)
    present = sorted(pathway_indicators(ext, start, end)["provider"].unique())
    with pytest.raises(ConfigError) as err:
        pathway_indicators(ext, start, end, provider="ZZZ")
    message = str(err.value)
    assert "'ZZZ'" in message and all(p in message for p in present)
    ctx = setup_notebook("nb", {**BASE, "provider": f" {present[0].lower()} "})
    assert ctx.provider == present[0]  # ODS codes are upper case


def test_progress_bar_draws_text_without_widgets() -> None:
    import io

    from iaptkit.notebooks.jupyter import progress_bar

    out = io.StringIO()
    update = progress_bar("pathways", file=out)
    for done, label in enumerate(("deriving", "counting", "typing", "done")):
        update(label, done, 3)
    text = out.getvalue()
    assert "pathways" in text
    assert "3/3" in text
    assert "IProgress" not in text


def test_field_quality_counts_bad_codes_and_unreadable_dates() -> None:
    rows = {
        "UniqueSubmissionID": ["1"] * 4,
        "Unique_MonthID": ["1480"] * 4,
        "OrgID_Provider": ["R1A", "R1A", "R1B", "R1B"],
        "PathwayID": ["P1", "P1", "P2", "P3"],
        "CareContactId": ["C1", "C2", "C3", "C4"],
        "CareContDate": ["2023-04-03", "n/a", "2023-04-05", None],
        "AppType": ["02", "2", "01", "03"],
        "AttendOrDNACode": ["5", "5", "9", "6"],
        "PlannedCareContIndicator": ["Y", "Y", "Y", "N"],
    }
    ext = load_extract({"IDS201CareContact": pd.DataFrame(rows)})
    q = field_quality(
        ext, "IDS201CareContact", fields=["CareContDate", "AppType", "AttendOrDNACode"]
    )
    got = q.set_index(["field", "OrgID_Provider"])[["rows", "present", "conforming"]]
    assert got.loc[("CareContDate", "R1A"), "present"] == 1  # "n/a" is not a date
    assert got.loc[("CareContDate", "R1B"), "present"] == 1
    assert pd.isna(got.loc[("CareContDate", "R1B"), "conforming"])
    assert got.loc[("AppType", "R1A"), "conforming"] == 1  # "2" lost its leading zero
    assert got.loc[("AppType", "R1B"), "conforming"] == 2
    assert got.loc[("AttendOrDNACode", "R1B"), "conforming"] == 1  # "9" is not a code
    assert got["rows"].tolist() == [2] * 6
    with pytest.raises(ConfigError, match="unknown table"):
        field_quality(ext, "IDS999Nothing")


def test_quiet_errors_show_the_one_line_in_a_real_kernel(tmp_path: Path) -> None:
    """In a real kernel (papermill), an iaptkit error is the cell's error output: one line."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from iaptkit.notebooks.jupyter import quiet_errors\nassert quiet_errors()"
        ),
        nbformat.v4.new_code_cell(
            "from iaptkit.errors import ReleaseError\nraise ReleaseError('output x clashes')"
        ),
    ]
    source, executed = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    with pytest.raises(PapermillExecutionError) as failed:
        papermill.execute_notebook(
            str(source), str(executed), kernel_name="python3", progress_bar=False
        )
    assert failed.value.ename == "ReleaseError"
    assert "output x clashes" in failed.value.evalue
    out = nbformat.read(executed, as_version=4)
    errors = [o for c in out.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in errors if o.output_type == "error"]
    assert len(errors) == 1
    assert errors[0].traceback == ["ReleaseError: output x clashes"]
