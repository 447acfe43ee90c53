"""Runs never overwrite: provenance guard, outputs of unfinished runs, exclusive atomic builds."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.errors import ReleaseError
from iaptkit.release import Release, build, verify
from iaptkit.release.store import slug

NB = "notebooks/02_outcomes_report.ipynb"
Q1 = {"start": "2023-04-01", "end": "2023-06-30"}
Q2 = {"start": "2023-07-01", "end": "2023-09-30"}


def test_output_of_other_parameters_is_never_overwritten(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    rel.add_text("Q1 words", name="summary", made_by=NB, parameters=Q1, exception="ok")
    with pytest.raises(ReleaseError) as info:
        rel.add_text("Q2 words", name="summary", made_by=NB, parameters=Q2, exception="ok")
    message = info.value.message
    assert "would overwrite" in message
    assert "start: '2023-04-01' -> '2023-07-01'" in message
    assert "Release.remove('summary')" in message
    # nothing of the first output was touched: file, checksum, parameters
    assert (tmp_path / "rel" / "outputs" / "summary.txt").read_text() == "Q1 words"
    assert Release.open(tmp_path / "rel").output("summary").parameters == Q1
    # a re-run with the same provenance replaces it, as before
    rel.add_text("Q1 again", name="summary", made_by=NB, parameters=Q1, exception="ok")
    assert (tmp_path / "rel" / "outputs" / "summary.txt").read_text() == "Q1 again"


def test_long_names_stay_distinct() -> None:
    base = "outcomes_reliable_change_by_commissioner_r1a_20230401_20240331_policy_strict" * 2
    assert len(slug(base + "a")) == 100
    assert slug(base + "a") != slug(base + "b")
    assert slug("outcomes_reliable_change_by_commissioner_R1A_20230401_20240331") == (
        "outcomes_reliable_change_by_commissioner_r1a_20230401_20240331"
    )


def test_unfinished_run_outputs_fail_and_are_never_exported(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    run = rel.start_run(NB, Q1)
    out = rel.add_text("Half-way", name="half", made_by=NB, parameters=Q1, exception="ok")
    assert out.status == "fail"
    assert out.run == run
    assert any(r.startswith("run not finished") for r in out.reasons)
    # the notebook died here: a build leaves the output out, with the reason
    result = build(tmp_path / "rel", tmp_path / "export")
    assert result.exported == ()
    assert dict(result.excluded) == {"half": "fail"}
    assert not (tmp_path / "export" / "half.txt").exists()
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["excluded"] == [{"uid": "half", "name": "half", "status": "fail"}]
    assert [r["status"] for r in Release.open(tmp_path / "rel").runs] == ["running"]


def test_finished_run_outputs_get_their_own_status_back(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel")
    rel.start_run(NB, Q1)
    rel.add_text("Done", name="done", made_by=NB, parameters=Q1, exception="Words only.")
    rel.finish_run()
    out = Release.open(tmp_path / "rel").output("done")
    assert (out.status, out.reasons) == ("review", ("free text: the checker reads it",))
    result = build(tmp_path / "rel", tmp_path / "export")
    assert result.exported == ("done",)
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["outputs"][0]["run"] == out.run
    with pytest.raises(ReleaseError, match="expected a run started with start_run"):
        Release.open(tmp_path / "rel").finish_run()


def test_rerun_supersedes_what_it_does_not_make_again(tmp_path: Path) -> None:
    first = Release.open_or_create(tmp_path / "rel")
    first.start_run(NB, Q1)
    first.add_text("a", name="a", made_by=NB, parameters=Q1, exception="ok")
    first.add_text("funnel", name="funnel", made_by=NB, parameters=Q1, exception="ok")
    first.finish_run()
    other = Release.open_or_create(tmp_path / "rel")
    other.start_run(NB, Q2)
    other.add_text("b", name="b", made_by=NB, parameters=Q2, exception="ok")
    other.finish_run()
    again = Release.open_or_create(tmp_path / "rel")
    again.start_run(NB, Q1)  # the re-run of Q1 no longer makes "funnel"
    again.add_text("a2", name="a", made_by=NB, parameters=Q1, exception="ok")
    again.finish_run()
    statuses = {o.uid: o.status for o in Release.open(tmp_path / "rel").outputs}
    assert statuses == {"a": "review", "funnel": "fail", "b": "review"}
    funnel = Release.open(tmp_path / "rel").output("funnel")
    assert any(r.startswith("superseded") for r in funnel.reasons)


# --------------------------------------------------------------------------- build


def _small_release(root: Path) -> Release:
    rel = Release.open_or_create(root / "rel", title="Small")
    rel.add_text("Words.", name="note", exception="Words only.")
    return rel


def test_build_refuses_a_destination_holding_another_release(tmp_path: Path) -> None:
    _small_release(tmp_path)
    other = Release.open_or_create(tmp_path / "other", title="Other release")
    other.add_text("Other.", name="other", exception="ok")
    build(other.path, tmp_path / "export")
    before = {p: p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file()}
    with pytest.raises(ReleaseError, match="holds the export of release 'Other release'"):
        build(tmp_path / "rel", tmp_path / "export")
    assert {p: p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file()} == before
    assert verify(tmp_path / "export", allow_unsigned=True) == []
    with pytest.raises(ReleaseError, match=r"holds a release folder \(release.json\)"):
        build(tmp_path / "rel", tmp_path / "other")


def test_uncreatable_destination_is_one_line_error(tmp_path: Path) -> None:
    _small_release(tmp_path)
    (tmp_path / "a_file").write_text("x")
    result = CliRunner().invoke(
        app,
        ["release", "build", str(tmp_path / "rel"), "-o", str(tmp_path / "a_file" / "sub" / "e")],
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "Cannot create the export folder" in " ".join(result.output.split())


def _hold_lock(path: str, ready: object, release: object) -> None:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        ready.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]


def test_concurrent_build_into_one_destination_is_refused(tmp_path: Path) -> None:
    """A build holding the destination's lock (another process): the second build refuses."""
    _small_release(tmp_path)
    context = multiprocessing.get_context("spawn")
    ready, done = context.Event(), context.Event()
    lock = tmp_path / ".export.build.lock"
    holder = context.Process(target=_hold_lock, args=(str(lock), ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(ReleaseError, match=r"Another build into .*export is in progress"):
            build(tmp_path / "rel", tmp_path / "export")
        assert not (tmp_path / "export").exists()
    finally:
        done.set()
        holder.join(30)
    result = build(tmp_path / "rel", tmp_path / "export")  # once the other is done
    assert result.exported == ("note",)
    assert not lock.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "rel"]


def _build_into(release: str, export: str, barrier: object, results: object) -> None:
    barrier.wait(30)  # type: ignore[attr-defined]
    try:
        build(release, export)
        results.put("built")  # type: ignore[attr-defined]
    except ReleaseError as exc:
        results.put(f"refused: {exc.message}")  # type: ignore[attr-defined]


def test_two_real_builds_at_once_one_refuses(tmp_path: Path) -> None:
    _small_release(tmp_path)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    args = (str(tmp_path / "rel"), str(tmp_path / "export"), barrier, results)
    procs = [context.Process(target=_build_into, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert outcomes[0] == "built"
    assert outcomes[1].startswith("refused: ")
    assert "in progress" in outcomes[1] or "not empty" in outcomes[1]
    assert verify(tmp_path / "export", allow_unsigned=True) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "rel"]


def test_stale_staging_folder_of_a_dead_build_is_removed(tmp_path: Path) -> None:
    _small_release(tmp_path)
    stale = tmp_path / ".export.building-dead"
    stale.mkdir()
    (stale / "half.csv").write_text("x")
    build(tmp_path / "rel", tmp_path / "export")
    assert not stale.exists()
    assert verify(tmp_path / "export", allow_unsigned=True) == []


def test_checker_report_with_a_malformed_output_is_written(tmp_path: Path) -> None:
    rel = _small_release(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text('a,b\n1,2,3,4\n"unterminated\n')
    rel.add_file(bad, description="malformed")
    undecodable = tmp_path / "bytes.csv"
    undecodable.write_bytes(b"\xff\xfe\x00garbage")
    rel.add_file(undecodable, description="not text")
    result = CliRunner().invoke(
        app, ["release", "build", str(tmp_path / "rel"), "-o", str(tmp_path / "export")]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    checker = (tmp_path / "rel" / "checker" / "report.html").read_text()
    assert "bad.csv</code> cannot be shown" in checker
    assert "ParserError" in checker
    assert "bytes.csv</code> cannot be shown" in checker
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [
        "checksums", "manifest.json", "note.txt", "report.html", "results.json", "seal.json"
    ]  # fmt: skip
