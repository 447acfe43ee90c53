"""Build and verify: only releasable outputs leave, never underlying counts, tamper-evident."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from release_tables import hidden_values, leaky_table, recovery_table

from iaptkit.errors import ReleaseError
from iaptkit.release import Release, build, verify
from iaptkit.release import bundle as bundle_mod
from iaptkit.release.signing import generate_key
from iaptkit.release.verify import verify_export
from iaptkit.sdc import ProtectedTable


def _release(root: Path) -> tuple[Release, ProtectedTable, ProtectedTable]:
    rel = Release.open_or_create(
        root / "rel", title="Quarter 1", analyst="Ana", extract_fingerprint="fp123"
    )
    table = recovery_table("outcomes")
    rel.add_table(
        table,
        description="Outcome by provider",
        population="referrals",
        denominators=["finished_treatment"],
        made_by="notebooks/02_outcomes_report.ipynb",
        parameters={"start": "2024-04-01"},
        definitions_version="defs-1.0",
    )
    leaky = leaky_table()
    rel.add_table(leaky, description="Audit fails: must never leave")
    rel.add_text("Draft wording 918273645", name="draft")  # review, no exception
    rel.add_text("Recovery rose.", name="finding", exception="Plain words, no numbers.")
    return rel, table, leaky


def _number_in(data: bytes, value: str) -> bool:
    return re.search(rb"(?<![0-9A-Za-z])" + value.encode() + rb"(?![0-9A-Za-z])", data) is not None


def test_only_releasable_outputs_are_exported(tmp_path: Path) -> None:
    _, table, leaky = _release(tmp_path)
    result = build(tmp_path / "rel", tmp_path / "export")
    assert result.exported == ("outcomes", "finding")
    assert dict(result.excluded) == {"leaky": "fail", "draft": "review without an exception"}
    names = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert names == [
        "cellkeys.json", "checksums", "finding.txt", "manifest.json", "outcomes.csv",
        "report.html", "results.json", "seal.json",
    ]  # fmt: skip
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file())
    # neither the failing table's values (true or published) nor the draft's text leave
    leaked = {str(v) for v in leaky.cells["value"]} | set(leaky.cells["display"].astype(str))
    for value in leaked - {"*", "0", "3"}:
        assert not _number_in(blobs, value), value
    assert b"918273645" not in blobs
    # the checker's copy of the report is inside the release, with the underlying counts
    checker = (tmp_path / "rel" / "checker" / "report.html").read_text()
    for secret in hidden_values(table) | hidden_values(leaky):
        assert secret in checker


def test_export_never_contains_underlying_counts(tmp_path: Path) -> None:
    _, table, _ = _release(tmp_path)
    build(tmp_path / "rel", tmp_path / "export")
    secrets = hidden_values(table)
    assert len(secrets) >= 5
    for path in (p for p in (tmp_path / "export").rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            assert not _number_in(data, secret), f"{secret} found in {path.name}"
    # and the published cells are exactly the protected ones
    published = pd.read_csv(tmp_path / "export" / "outcomes.csv", dtype=str)
    assert published["value"].tolist() == table.cells["display"].astype(str).tolist()
    assert set(published.columns) == {"provider", "outcome", "value", "policy_id", "policy_version"}


def test_manifest_records_provenance(tmp_path: Path) -> None:
    _release(tmp_path)
    build(tmp_path / "rel", tmp_path / "export")
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["extract_fingerprint"] == "fp123"
    assert set(manifest["files"]) == {
        "cellkeys.json", "finding.txt", "outcomes.csv", "report.html", "results.json"
    }  # fmt: skip
    out = next(o for o in manifest["outputs"] if o["uid"] == "outcomes")
    assert (out["policy_id"], out["definitions_version"]) == ("nhs-sde", "defs-1.0")
    assert out["made_by"] == "notebooks/02_outcomes_report.ipynb"
    assert out["parameters"] == {"start": "2024-04-01"}
    assert {e["uid"] for e in manifest["excluded"]} == {"leaky", "draft"}
    assert "iaptkit_version" in manifest
    assert "git_commit" in manifest


def test_verify_detects_tampering(tmp_path: Path) -> None:
    _release(tmp_path)
    export = tmp_path / "export"
    key, _ = generate_key(tmp_path / "keys" / "k.pem")
    build(tmp_path / "rel", export, key=key)
    assert verify(export) == []
    csv = export / "outcomes.csv"
    original = csv.read_bytes()
    csv.write_bytes(original.replace(b"*", b"4", 1))
    problems = verify(export)
    assert problems[0] == "outcomes.csv: changed after build (sha256 differs from the seal)"
    # and the file checks re-run on the export find the now visible small count
    assert problems[1].startswith("output outcomes: recorded status pass, but the file checks")
    # and the cell keys say that cell was published as suppressed
    assert problems[2].startswith("cellkeys.json: outcomes row ")
    assert "is suppressed there but '4' in outcomes.csv" in problems[2]
    assert len(problems) == 3
    csv.write_bytes(original)
    (export / "finding.txt").unlink()
    assert verify(export) == ["finding.txt: missing (listed in the seal)"]
    (export / "finding.txt").write_text("Recovery rose.")
    (export / "extra.csv").write_text("a,b\n")
    assert verify(export) == ["extra.csv: extra file not in the seal"]


def test_unsigned_export_verifies_only_when_allowed(tmp_path: Path) -> None:
    _release(tmp_path)
    export = tmp_path / "export"
    build(tmp_path / "rel", export)
    problems = verify(export)
    assert len(problems) == 1
    assert "not signed" in problems[0]
    result = verify_export(export, allow_unsigned=True)
    assert result.problems == []
    assert not result.signed
    assert any("UNSIGNED" in n for n in result.notes)


def test_refuses_unsafe_names_and_leaves_no_partial_export(tmp_path: Path) -> None:
    rel, _, _ = _release(tmp_path)
    register = json.loads((rel.path / "release.json").read_text())
    finding = next(o for o in register["outputs"] if o["uid"] == "finding")
    digest = finding["files"].pop("finding.txt")
    for bad in ("../escape.txt", "/tmp/abs.txt", "sub/dir.txt", "manifest.json"):
        finding["files"] = {bad: digest}
        (rel.path / "release.json").write_text(json.dumps(register))
        with pytest.raises(ReleaseError):
            build(rel.path, tmp_path / "export")
        assert not (tmp_path / "export").exists()
        assert not list(tmp_path.glob(".export.building-*"))
    assert not (tmp_path / "escape.txt").exists()


def test_symlinked_output_file_is_not_exported(tmp_path: Path) -> None:
    rel, _, _ = _release(tmp_path)
    target = rel.path / "outputs" / "finding.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("Recovery rose.")
    target.unlink()
    target.symlink_to(secret)
    result = build(rel.path, tmp_path / "export")
    assert "finding" not in result.exported
    assert not (tmp_path / "export" / "finding.txt").exists()


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _release(tmp_path)

    def boom(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bundle_mod, "_manifest", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build(tmp_path / "rel", tmp_path / "export")
    assert not (tmp_path / "export").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rel"]


def test_existing_export_and_export_inside_release_refused(tmp_path: Path) -> None:
    _release(tmp_path)
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "old.csv").write_text("x")
    with pytest.raises(ReleaseError, match="not empty"):
        build(tmp_path / "rel", tmp_path / "export")
    with pytest.raises(ReleaseError, match="inside the release"):
        build(tmp_path / "rel", tmp_path / "rel" / "export")


def test_changed_output_file_fails_at_build(tmp_path: Path) -> None:
    rel, _, _ = _release(tmp_path)
    (rel.path / "outputs" / "outcomes.csv").write_text("provider,value\nR1A,4\n")
    result = build(rel.path, tmp_path / "export")
    assert "outcomes" not in result.exported
    reasons = Release.open(rel.path).output("outcomes").reasons
    assert "file outcomes.csv changed after it was checked" in reasons
