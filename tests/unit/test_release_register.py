"""The release register: outputs, statuses, storage of underlying counts, safe appends."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from release_tables import hidden_values, recovery_table, small_table, with_failed_audit

from iaptkit.errors import ReleaseError
from iaptkit.release import Release
from iaptkit.release.checks import check_file
from iaptkit.release.outputs import combine_status
from iaptkit.sdc import protect


def _png(path: Path) -> Path:
    # 1x1 PNG, written byte for byte (no plotting library needed)
    path.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    return path


def test_table_passes_and_records_everything(tmp_path: Path) -> None:
    rel = Release.open_or_create(
        tmp_path / "rel", title="Q1", analyst="Ana", extract_fingerprint="f1"
    )
    pt = recovery_table("by_provider")
    out = rel.add_table(
        pt,
        description="Referrals by provider and outcome",
        population="referrals finishing treatment",
        denominators=["finished_treatment"],
        made_by="notebooks/02_outcomes_report.ipynb",
        parameters={"start": "2024-04-01", "providers": 3},
        definitions_version="defs-1.0",
    )
    assert out.status == "pass"
    assert out.releasable
    stored = json.loads((tmp_path / "rel" / "release.json").read_text())
    record = stored["outputs"][0]
    assert stored["title"] == "Q1"
    assert stored["extract_fingerprint"] == "f1"
    assert record["policy_id"] == "nhs-sde"
    assert record["policy_version"] == pt.policy.version
    assert record["definitions_version"] == "defs-1.0"
    assert record["parameters"] == {"start": "2024-04-01", "providers": 3}
    assert record["denominators"] == ["finished_treatment"]
    assert record["made_by"] == "notebooks/02_outcomes_report.ipynb"
    # export view: protected values only; the truth is in internal/ only
    export_file = tmp_path / "rel" / "outputs" / "by_provider.csv"
    export = pd.read_csv(export_file, dtype=str)
    assert export["value"].tolist() == pt.cells["display"].astype(str).tolist()
    text = export_file.read_text()
    secrets = hidden_values(pt)
    assert secrets
    assert not any(secret in text for secret in secrets)
    underlying = pd.read_csv(tmp_path / "rel" / "internal" / "by_provider.underlying.csv")
    assert underlying["value"].tolist() == pt.cells["value"].astype(int).tolist()
    # the export-safe certificate in release.json has no true values or primary flags
    assert "true_value" not in json.dumps(record["audit"])
    assert "is_primary" not in json.dumps(record["audit"])


def test_failed_audit_and_unprotected_tables_fail(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    bad = with_failed_audit(recovery_table("leaky"))
    out = rel.add_table(bad, description="audit fails")
    assert out.status == "fail"
    assert not out.releasable
    n_bad = len(bad.certificate.failures())
    assert n_bad >= 1
    assert any(r.startswith(f"audit failed: {n_bad} cell(s)") for r in out.reasons)
    # reasons never name values (they may be shown outside the checker's copy)
    assert not any(secret in " ".join(out.reasons) for secret in hidden_values(bad))
    raw = pd.DataFrame({"provider": ["A", "B"], "n": [3, 54321]})
    plain = rel.add_table(raw, name="raw_counts", description="not protected")
    assert plain.status == "fail"
    assert "unprotected" in plain.reasons[0]
    assert not list((tmp_path / "rel" / "outputs").glob("raw_counts*"))
    assert (tmp_path / "rel" / "internal" / "raw_counts.unprotected.csv").is_file()


def test_small_count_in_export_view_fails_file_check(tmp_path: Path) -> None:
    # a table whose audit passed but whose export view shows 4 under nhs-sde: caught
    pt = recovery_table("odd")
    cells = pt.cells.copy()
    cells.loc[cells.index[0], "display"] = "4"
    cells.loc[cells.index[0], "published"] = 4
    cells.loc[cells.index[0], "status"] = "published"
    rel = Release.open_or_create(tmp_path / "rel")
    out = rel.add_table(replace(pt, cells=cells), description="x")
    assert out.status == "fail"
    assert any("small-count at row 1, column value" in r for r in out.reasons)


def test_figure_rules(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    png = _png(tmp_path / "bars.png")
    alone = rel.add_figure(png, None, name="bars_alone", description="no data")
    assert alone.status == "fail"
    assert "figure without its protected data table" in alone.reasons
    pt = small_table("bars")
    with_data = rel.add_figure(png, pt, name="bars", description="bars with data")
    assert with_data.status == "review"
    assert not with_data.releasable
    assert set(with_data.files) == {"bars.png", "bars.data.csv"}
    granted = rel.request_exception("bars", "Bars show the protected table exactly.")
    assert granted.releasable
    with pytest.raises(ReleaseError, match="Expected an image file"):
        rel.add_figure(tmp_path / "missing.png", pt)


def test_model_and_text_and_file(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    coefs = pd.DataFrame({"coef": [0.5, -0.2]}, index=["const", "age"])
    ok = SimpleNamespace(name="regression", status="pass", reasons=())
    bad = SimpleNamespace(name="regression", status="fail", reasons=("residual df 4 < 10",))
    assert rel.add_model(coefs, 120, 118, ok, name="m1").status == "pass"
    failed = rel.add_model(coefs, 6, 4, bad, name="m2")
    assert failed.status == "fail"
    assert failed.reasons == ("regression: residual df 4 < 10",)
    assert (failed.n, failed.df_resid) == (6, 4.0)
    assert rel.add_model(coefs, 100, 98, None, name="m3").status == "fail"
    assert rel.add_text("Recovery improved.", name="note").status == "review"
    csv = tmp_path / "extra.csv"
    csv.write_text("provider,count\nA,3\nB,15\n")
    other = rel.add_file(csv, description="made elsewhere")
    assert other.status == "fail"
    assert any("small-count at row 1, column count" in r for r in other.reasons)


def test_sequential_notebooks_append_and_rerun_replaces(tmp_path: Path) -> None:
    first = Release.open_or_create(tmp_path / "rel", title="T", analyst="A")
    second = Release.open_or_create(tmp_path / "rel")  # another notebook, opened before adding
    first.add_text("one", name="one")
    second.add_text("two", name="two")
    first.add_text("three", name="three")
    assert [o.uid for o in Release.open(tmp_path / "rel").outputs] == ["one", "two", "three"]
    # re-running the notebook that made "two" replaces it in place, no duplicate
    second.add_text("two again", name="two")
    reopened = Release.open(tmp_path / "rel")
    assert [o.uid for o in reopened.outputs] == ["one", "two", "three"]
    assert (tmp_path / "rel" / "outputs" / "two.txt").read_text() == "two again"
    assert reopened.title == "T"
    assert reopened.analyst == "A"


def _add_many(folder: str, worker: int) -> None:
    rel = Release.open_or_create(folder)
    for i in range(5):
        rel.add_text(f"w{worker} item {i}", name=f"w{worker}_{i}")


def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path / "rel"), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    uids = {o.uid for o in Release.open(tmp_path / "rel").outputs}
    assert uids == {f"w{w}_{i}" for w in range(4) for i in range(5)}


def test_open_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"release\.json"):
        Release.open(tmp_path / "nothing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReleaseError, match="found a file"):
        Release.open_or_create(tmp_path / "file")
    rel = Release.open_or_create(tmp_path / "rel")
    with pytest.raises(ReleaseError, match="No output 'nope'"):
        rel.output("nope")


def test_combine_status_order() -> None:
    assert combine_status(["pass", "fail", "review"]) == "fail"
    assert combine_status(["pass", "pass"]) == "pass"


def test_national_total_unrounded_by_design_passes(tmp_path: Path) -> None:
    counts = pd.DataFrame({"provider": ["A", "B", "C"], "n": [123, 241, 57]})
    pt = protect(counts, ["provider"], "n", policy="nhs-talking-therapies", name="tt")
    published = dict(
        zip(pt.published_long()["provider"], pt.published_long()["value"], strict=True)
    )
    assert published["Total"] == "421"  # national: unrounded under this policy
    rel = Release.open_or_create(tmp_path / "rel")
    out = rel.add_table(pt, description="national total unrounded")
    assert out.status == "pass"
    # the same file checked on its own (not registered) is flagged for review
    report = check_file(tmp_path / "rel" / "outputs" / "tt.csv", policy="nhs-talking-therapies")
    assert [(f.rule, f.severity, f.location) for f in report.findings] == [
        ("unrounded-count", "review", "row 4, column value")
    ]


def test_every_extract_fingerprint_is_kept(tmp_path: Path) -> None:
    Release.open_or_create(tmp_path / "rel", extract_fingerprint="aaa")
    Release.open_or_create(tmp_path / "rel", extract_fingerprint="aaa")
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="bbb")
    assert rel.extract_fingerprint == "bbb"
    assert rel.meta["extract_fingerprints"] == ["aaa", "bbb"]
