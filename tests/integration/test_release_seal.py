"""Tamper evidence: each edit an analyst in a hurry might make fails `iaptkit release verify`,
one line each; an untouched signed export verifies; provenance holds no local paths."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from release_export import Built, make_export
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.release.signing import canonical, generate_key, load_private_key

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return make_export(tmp_path_factory.mktemp("seal"))


@pytest.fixture
def export(built: Built, tmp_path: Path) -> Path:
    copy = tmp_path / "export"
    shutil.copytree(built.export, copy)
    return copy


def _verify(export: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["release", "verify", str(export), *args])
    return result.exit_code, [ln for ln in result.output.splitlines() if ln.strip()]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def test_untouched_signed_export_verifies(export: Path, built: Built) -> None:
    code, lines = _verify(export)
    assert code == 0, lines
    assert "signed by key" in lines[-1]
    pub = built.key.with_name(built.key.name + ".pub")
    assert _verify(export, "--public-key", str(pub))[0] == 0
    assert _verify(export, "--against", str(built.release))[0] == 0


def test_private_key_mode_and_never_in_export(built: Built) -> None:
    assert built.key.stat().st_mode & 0o777 == 0o600
    pem = built.key.read_bytes()
    for path in built.export.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes()
            assert pem not in path.read_bytes()


def test_file_and_manifest_hash_changed_together_fails(export: Path) -> None:
    csv = export / "recovery.csv"
    csv.write_text(csv.read_text().replace("*", "4", 1))

    def fix_hash(m: dict) -> None:  # type: ignore[type-arg]
        m["files"]["recovery.csv"]["sha256"] = _sha(csv)

    _edit_json(export / "manifest.json", fix_hash)
    code, lines = _verify(export)
    assert code == 1
    assert "recovery.csv: changed after build (sha256 differs from the seal)" in lines
    assert "manifest.json: edited after build (sha256 differs)" in lines
    # and the file checks re-run on the export see the small count the edit revealed
    assert any(ln.startswith("output recovery: recorded status pass") for ln in lines)


def test_status_flip_in_manifest_fails(export: Path) -> None:
    def flip(m: dict) -> None:  # type: ignore[type-arg]
        m["outputs"][1]["status"] = "pass"

    _edit_json(export / "manifest.json", flip)
    code, lines = _verify(export)
    assert code == 1
    assert lines[0] == "manifest.json: edited after build (sha256 differs)"


def test_recomputed_seal_without_the_key_fails(export: Path) -> None:
    csv = export / "recovery.csv"
    csv.write_text(csv.read_text().replace("*", "4", 1))

    def rehash(seal: dict) -> None:  # type: ignore[type-arg]
        seal["files"]["recovery.csv"] = _sha(csv)

    _edit_json(export / "seal.json", rehash)
    code, lines = _verify(export)
    assert code == 1
    assert "signature does not match" in lines[0]


def test_resigned_with_another_key_fails_against_the_trusted_key(
    export: Path, built: Built, tmp_path: Path
) -> None:
    other, _ = generate_key(tmp_path / "other.pem")
    key = load_private_key(other)
    from iaptkit.release.signing import make_seal

    seal = json.loads((export / "seal.json").read_text())
    fresh = make_seal(seal["files"], seal["results_content"], key)
    (export / "seal.json").write_text(json.dumps(fresh))
    pub = built.key.with_name(built.key.name + ".pub")
    code, lines = _verify(export, "--public-key", str(pub))
    assert code == 1
    assert "expected the given public key" in lines[0]
    code, lines = _verify(export, "--against", str(built.release))
    assert code == 1
    assert any("differs from the seal the release kept" in ln for ln in lines)
    assert canonical(fresh) != canonical(seal)


def test_extra_missing_results_and_checksum_edits_fail_one_line_each(export: Path) -> None:
    (export / "finding.txt").unlink()
    (export / "notes.csv").write_text("a,b\n1,2\n")
    _edit_json(
        export / "results.json",
        lambda r: r["results"]["recovery"].__setitem__("status", "fail"),
    )
    (export / "checksums" / "recovery.csv.txt").write_text("0" * 64)
    code, lines = _verify(export)
    assert code == 1
    problems = [ln for ln in lines if not ln.startswith("Export")]
    assert sorted(problems) == sorted(
        [
            "finding.txt: missing (listed in the seal)",
            "notes.csv: extra file not in the seal",
            "results.json: changed after build beyond a reviewer's fields",
            "checksums/recovery.csv.txt: changed after build (sha256 differs from the seal)",
        ]
    )


def test_unsigned_export_needs_the_flag(built: Built, tmp_path: Path) -> None:
    export = tmp_path / "unsigned"
    result = runner.invoke(
        app, ["release", "build", str(built.release), "-o", str(export), "--unsigned"]
    )
    assert result.exit_code == 0, result.output
    code, lines = _verify(export)
    assert code == 1
    assert "not signed" in lines[0]
    code, lines = _verify(export, "--allow-unsigned")
    assert code == 0
    assert any("UNSIGNED" in ln for ln in lines)


def test_against_register_finds_a_status_changed_since(built: Built, tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(built.export, export)
    release = tmp_path / "rel"
    shutil.copytree(built.release, release)

    def downgrade(reg: dict) -> None:  # type: ignore[type-arg]
        for out in reg["outputs"]:
            if out["uid"] == "recovery":
                out["status"] = "fail"

    _edit_json(release / "release.json", downgrade)
    code, lines = _verify(export, "--against", str(release))
    assert code == 1
    assert "output recovery: status pass in the export, fail in the register" in lines


def test_provenance_has_no_local_paths(built: Built) -> None:
    root = str(built.release.parent)
    for name in ("manifest.json", "results.json", "seal.json"):
        text = (built.export / name).read_text()
        assert root not in text, name
        assert '"/' not in text, name  # no string starts with an absolute path
        assert str(Path.home()) not in text, name
    assert root not in (built.export / "report.html").read_text()
    manifest = json.loads((built.export / "manifest.json").read_text())
    assert manifest["extract"] == "extract:extract_2024q1@ab12cd34ef56"
    params = manifest["outputs"][0]["parameters"]
    assert params["extract"] == "extract:extract_2024q1@ab12cd34ef56"
    assert params["output_dir"] == "."
    assert manifest["outputs"][0]["population"] == (
        "finished treatment (extract:extract_2024q1@ab12cd34ef56)"
    )


def test_verify_reruns_the_cross_output_audit_on_the_published_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from iaptkit.release import Release, build
    from iaptkit.release.verify import verify_export
    from iaptkit.sdc import protect

    counts = pd.DataFrame(
        [("R1A", "recovered", 4), ("R1A", "not_recovered", 35271),
         ("R2B", "recovered", 41893), ("R2B", "not_recovered", 52617)],
        columns=["provider", "outcome", "n"],
    )  # fmt: skip
    other = pd.DataFrame(
        [("R1A", "not_recovered", 35271), ("R9Z", "not_recovered", 60000)],
        columns=["provider", "outcome", "n"],
    )  # fmt: skip
    rel = Release.open_or_create(tmp_path / "rel", title="Leaky pair")
    rel.add_table(protect(counts, ["provider", "outcome"], "n", policy="nhs-sde", name="a",
                          population="finished"))  # fmt: skip
    rel.add_table(protect(other, ["provider", "outcome"], "n", policy="nhs-sde", name="b",
                          population="finished"))  # fmt: skip
    # the build's own cross-output audit would fail both; verify must not trust that it ran
    monkeypatch.setattr(Release, "cross_audit", lambda self: None)
    monkeypatch.setattr("iaptkit.release.joint.run_joint_audit", lambda *a, **k: {})
    key, _ = generate_key(tmp_path / "k.pem")
    result = build(rel.path, tmp_path / "export", key=key)
    assert set(result.exported) == {"a", "b"}
    problems = verify_export(tmp_path / "export").problems
    assert any(
        p.startswith("cross-output audit of the exported files: cell R1A | not_recovered")
        and "suppressed in a but shown in b" in p
        for p in problems
    ), problems


def test_published_audit_finds_a_cell_determined_by_the_margins(tmp_path: Path) -> None:
    from iaptkit.release.findings import PolicyFacts
    from iaptkit.release.published_audit import published_audit

    # one suppressed cell in a row with its total: determined exactly (no rounding)
    (tmp_path / "t.csv").write_text(
        "provider,outcome,value\nA,x,*\nA,y,20\nA,Total,27\nB,x,30\nB,y,*\nB,Total,45\n"
    )
    outputs = [{"uid": "t", "kind": "table", "population": "p", "policy_id": "q",
                "files": ["t.csv"]}]  # fmt: skip
    facts = {"q": PolicyFacts("q", "1", 10, True, 1, "none")}
    problems, notes = published_audit(tmp_path, outputs, facts)
    assert notes == []
    assert len(problems) == 2
    assert "A | x" in problems[0]
    assert "between 7 and 7" in problems[0]
    assert "between 15 and 15" in problems[1]


def test_keygen_default_path_permissions_and_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IAPTKIT_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    made = runner.invoke(app, ["release", "keygen"])
    assert made.exit_code == 0, made.output
    key = tmp_path / "home" / ".config" / "iaptkit" / "release-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    public = key.with_name("release-key.pem.pub").read_text().strip()
    assert len(bytes.fromhex(public)) == 32
    again = runner.invoke(app, ["release", "keygen"])
    assert again.exit_code == 1
    assert "found one" in again.output
    assert "Traceback" not in again.output
    assert key.with_name("release-key.pem.pub").read_text().strip() == public  # untouched
    key.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        load_private_key(key)


def test_build_with_a_missing_explicit_key_is_refused(built: Built, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["release", "build", str(built.release), "-o", str(tmp_path / "e"),
         "--key", str(tmp_path / "none.pem")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Expected a signing key" in result.output
    assert not (tmp_path / "e").exists()


def test_a_key_inside_the_release_is_refused(built: Built, tmp_path: Path) -> None:
    release = tmp_path / "rel"
    shutil.copytree(built.release, release)
    inside, _ = generate_key(release / "key.pem")
    result = runner.invoke(
        app, ["release", "build", str(release), "-o", str(tmp_path / "e"), "--key", str(inside)]
    )
    assert result.exit_code == 1
    assert "inside" in result.output
    assert not (tmp_path / "e").exists()
