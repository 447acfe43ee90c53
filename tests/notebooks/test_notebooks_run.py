"""The four report notebooks, run with papermill on a small synthetic extract.

One module-scoped run (through iaptkit's runner) registers every output in one release; the
tests then check, from the files alone, that every run succeeded, that the registered tables are
protected under nhs-sde (no published count in 1..9, every count a multiple of 5 and within 2 of
the truth, suppressed cells really suppressed), that a headline count matches an independent
count from the generator's NHS-derived fields, and that the release builds and verifies.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.notebooks.runner import RunSummary, run_grid
from iaptkit.release import Release, build, verify
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
START, END = "2023-04-01", "2024-03-31"
PROVIDER = "RAA"
QUARTER_END = "2023-06-30"
YEAR = "_20230401_20240331"  # every output name carries its period
QUARTER = "_20230401_20230630"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("nbrun")
    extract = root / "extract"
    write_synthetic(extract, pathways=1500, providers=4, with_nhs_fields=True, seed=7)
    release = root / "release"
    base = {"extract": str(extract), "start": START, "end": END, "output_dir": str(release)}
    summaries: dict[str, RunSummary] = {}
    for name in ("01_data_quality", "02_outcomes_report", "03_waiting_times", "04_inequalities"):
        grid = [base]
        if name == "02_outcomes_report":
            # a provider and a quarter too: outputs of different parameters coexist
            grid = [base, {**base, "provider": PROVIDER}, {**base, "end": QUARTER_END}]
        summaries[name] = run_grid(NOTEBOOKS / f"{name}.ipynb", grid, root / "runs")
    return {"root": root, "extract": extract, "release": release, "summaries": summaries}


def _release(demo: dict[str, object]) -> Release:
    return Release.open(demo["release"])  # type: ignore[arg-type]


def test_every_run_succeeds_and_is_kept(demo: dict[str, object]) -> None:
    summaries: dict[str, RunSummary] = demo["summaries"]  # type: ignore[assignment]
    errors = [r.error for s in summaries.values() for r in s.results if r.status != "ok"]
    assert errors == []
    outputs = sorted(r.output.name for s in summaries.values() for r in s.results)
    grid_run = "02_outcomes_report__end-{}__extract-extract__output_dir-release__provider-{}.ipynb"
    assert outputs == [
        "01_data_quality__extract-extract__output_dir-release.ipynb",
        grid_run.format(QUARTER_END, "none"),  # named by every parameter that varies
        grid_run.format(END, PROVIDER),
        grid_run.format(END, "none"),
        "03_waiting_times__extract-extract__output_dir-release.ipynb",
        "04_inequalities__extract-extract__output_dir-release.ipynb",
    ]
    assert all(r.output.is_file() for s in summaries.values() for r in s.results)


def test_expected_outputs_registered(demo: dict[str, object]) -> None:
    uids = {o.uid for o in _release(demo).outputs}
    expected = {
        f"{name}{YEAR}"
        for name in (
            "dq_validation_problems",
            "dq_completeness",
            "dq_ids101_rows_by_provider_month",
            "dq_rows_chart",
            "dq_reconciliation",
            "outcomes_recovery_by_provider",
            "outcomes_reliable_change_by_provider",
            "outcomes_funnel_provider",
            "trend_referrals_received",
            "waits_finished_by_provider",
            "waits_first_treatment",
            "waits_assessment",
            "waits_first_to_second_by_provider",
            "waits_first_to_second_bands",
            "waiting_list",
            "waiting_list_chart",
            "open_without_activity",
            "open_without_activity_chart",
            "access_referrals_by_imd_decile",
            "recovery_by_imd_decile",
            "recovery_imd_chart",
            "recovery_logit",
            "sessions_by_provider",
        )
    }
    expected |= {
        f"outcomes_recovery_by_commissioner_{PROVIDER.lower()}{YEAR}",
        f"outcomes_recovery_by_provider{QUARTER}",
        f"trend_referrals_received{QUARTER}",
    }
    assert expected <= uids, sorted(expected - uids)


def _tables(demo: dict[str, object]) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    rel = _release(demo)
    out = []
    for o in rel.outputs:
        if o.kind != "table":
            continue
        published = pd.read_csv(rel.path / "outputs" / f"{o.uid}.csv", dtype=str)
        truth = pd.read_csv(
            rel.path / "internal" / f"{o.uid}.underlying.csv", dtype={"status": str}
        )
        out.append((o.uid, published, truth))
    return out


def test_published_counts_obey_nhs_sde(demo: dict[str, object]) -> None:
    tables = _tables(demo)
    assert len(tables) >= 20
    for uid, published, truth in tables:
        assert set(published["policy_id"]) == {"nhs-sde"}, uid
        shown = published.loc[published["value"] != "*", "value"].astype(int)
        assert not shown.between(1, 9).any(), f"{uid}: a count under 10 is published"
        assert (shown % 5 == 0).all(), f"{uid}: a count not rounded to 5"
        # against the truth: rounded values within 2; every true 1..9 suppressed
        assert len(truth) == len(published), uid
        true_values = truth["value"].astype(int).to_numpy()
        shown_all = published["value"].to_numpy()
        for true, pub in zip(true_values, shown_all, strict=True):
            if 1 <= true <= 9 or true == 0:
                assert pub == "*", f"{uid}: true {true} published as {pub}"
            elif pub != "*":
                assert abs(int(pub) - true) <= 2, f"{uid}: true {true} published as {pub}"


def test_every_table_and_model_passes_release_checks(demo: dict[str, object]) -> None:
    rel = _release(demo)
    statuses = {o.uid: o.status for o in rel.outputs}
    bad = {u: s for u, s in statuses.items() if s == "fail"}
    assert bad == {}
    figures = [o for o in rel.outputs if o.kind == "figure"]
    assert figures
    assert all(o.status == "review" and o.exception for o in figures)


def test_finished_count_matches_independent_count(demo: dict[str, object]) -> None:
    """England finished treatment (recovery table margin) vs the NHS-derived IDS101 fields."""
    extract: Path = demo["extract"]  # type: ignore[assignment]
    ids101 = pd.read_parquet(extract / "IDS101Referral.parquet")
    # counted submissions: latest UniqueSubmissionID per provider and month
    ids101["UniqueSubmissionID"] = ids101["UniqueSubmissionID"].astype(int)
    latest = ids101.groupby(["OrgID_Provider", "Unique_MonthID"])["UniqueSubmissionID"].transform(
        "max"
    )
    rows = ids101.loc[ids101["UniqueSubmissionID"] == latest].copy()
    rows["Unique_MonthID"] = rows["Unique_MonthID"].astype(int)
    state = rows.sort_values(["Unique_MonthID", "UniqueSubmissionID"]).groupby("PathwayID").tail(1)
    discharged = pd.to_datetime(state["ServDischDate"]).dt.date
    completed = state["CompletedTreatment_Flag"].astype(str).str.lower().isin({"true", "1", "y"})
    in_period = discharged.between(date.fromisoformat(START), date.fromisoformat(END))
    expected = int((in_period & completed).sum())

    truth = pd.read_csv(
        demo["release"] / "internal" / f"outcomes_recovery_by_provider{YEAR}.underlying.csv"
    )  # type: ignore[operator]
    total = truth.loc[(truth["provider"] == "Total") & (truth["outcome"] == "Total"), "value"]
    assert expected > 100
    assert int(total.iloc[0]) == expected


def test_release_builds_and_verifies(demo: dict[str, object]) -> None:
    root: Path = demo["root"]  # type: ignore[assignment]
    export = root / "export"
    result = build(demo["release"], export)  # type: ignore[arg-type]
    assert verify(export, allow_unsigned=True) == []
    assert f"outcomes_recovery_by_provider{YEAR}" in result.exported
    assert f"outcomes_recovery_by_provider{QUARTER}" in result.exported
    exported = {p.name for p in export.iterdir()}
    assert not any("underlying" in n or n.endswith(".pkl") for n in exported)
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    assert f"outcomes_recovery_by_provider{YEAR}.csv" in json.dumps(manifest)
    # every run finished: recorded in the register, and every exported output names its run
    runs = {r["id"]: r for r in _release(demo).runs}
    assert len(runs) == 6
    assert {r["status"] for r in runs.values()} == {"finished"}
    assert all(o["run"] in runs for o in manifest["outputs"])


def test_runs_of_different_periods_coexist(demo: dict[str, object]) -> None:
    """The quarter and the year of notebook 02: two outputs with their own counts, none lost."""
    rel = _release(demo)
    year = rel.output(f"outcomes_recovery_by_provider{YEAR}")
    quarter = rel.output(f"outcomes_recovery_by_provider{QUARTER}")
    assert year.parameters["end"] == END
    assert quarter.parameters["end"] == QUARTER_END
    assert QUARTER_END in quarter.population
    assert END in year.population

    def total(uid: str) -> int:
        truth = pd.read_csv(rel.path / "internal" / f"{uid}.underlying.csv")
        cell = truth.loc[(truth["provider"] == "Total") & (truth["outcome"] == "Total"), "value"]
        return int(cell.iloc[0])

    assert 0 < total(quarter.uid) < total(year.uid)


def test_every_notebook_shows_its_charts_as_images(demo: dict[str, object]) -> None:
    """Each executed notebook holds at least one image/png output and no bare Figure text."""
    summaries: dict[str, RunSummary] = demo["summaries"]  # type: ignore[assignment]
    for s in summaries.values():
        for r in s.results:
            nb = json.loads(r.output.read_text(encoding="utf-8"))
            outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
            pngs = [o for o in outputs if "image/png" in o.get("data", {})]
            texts = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
            assert pngs, f"{r.output.name}: no image/png output"
            assert "<Figure size" not in texts, f"{r.output.name}: a figure shown as text"


def test_long_work_shows_progress(demo: dict[str, object]) -> None:
    """The notebooks deriving pathways show a progress bar (text under papermill), complete."""
    summaries: dict[str, RunSummary] = demo["summaries"]  # type: ignore[assignment]
    shown = 0
    for name in ("02_outcomes_report", "03_waiting_times", "04_inequalities"):
        for r in summaries[name].results:
            nb = json.loads(r.output.read_text(encoding="utf-8"))
            streams = [
                "".join(o.get("text", ""))
                for c in nb["cells"]
                if c["cell_type"] == "code"
                for o in c["outputs"]
                if o.get("output_type") == "stream" and o.get("name") == "stderr"
            ]
            bars = [s for s in streams if "pathways" in s and "3/3" in s]
            assert bars, f"{r.output.name}: no finished progress bar"
            assert not any("IProgress" in s for s in streams), "tqdm warned about widgets"
            shown += 1
    assert shown >= 3
