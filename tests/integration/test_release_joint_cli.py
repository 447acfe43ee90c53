"""The documented routes into one release, end to end on the command line (issue 16).

``iaptkit measures ... --release DIR`` for England and providers, for ``provider`` beside
``provider x gender``, and for two overlapping periods; ``iaptkit release build`` protects them
jointly, exports ``cellkeys.json``, and the export passes ``iaptkit release verify``. A name
clash is refused unless ``--replace``; another policy is refused; ``--no-joint-protection``
leaves the outputs at risk out, naming the cell; ``--previous`` brings an earlier export in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app

runner = CliRunner()
END = "2024-03-31"
RUNS = (
    ("2023-04-01", "england,provider"),
    ("2023-04-01", "provider,provider x gender"),
    ("2023-05-01", "england,provider"),
)


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("joint") / "extract"
    write_synthetic(folder, pathways=1500, start="2023-04", months=12, providers=3, seed=11)
    return folder


def measures(
    extract: Path, release: Path, start: str, by: str, *more: str, end: str = END
) -> object:
    args = ["measures", str(extract), "--start", start, "--end", end, "--by", by]
    args += ["--families", "0", "-o", str(release.parent / "m.csv"), "--release", str(release)]
    return runner.invoke(app, [*args, *more])


@pytest.fixture(scope="module")
def release_dir(extract_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    release = tmp_path_factory.mktemp("joint_release") / "release"
    for start, by in RUNS:
        result = measures(extract_dir, release, start, by)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return release


@pytest.mark.slow
def test_documented_routes_build_jointly_and_verify(release_dir: Path, tmp_path: Path) -> None:
    register = json.loads((release_dir / "release.json").read_text())
    assert len(register["outputs"]) == 3  # different grids and periods coexist
    off = runner.invoke(app, ["release", "build", str(release_dir), "-o", str(tmp_path / "off"),
                              "--unsigned", "--no-joint-protection"])  # fmt: skip
    assert off.exit_code == 0, off.output
    assert "FAILED" in off.output
    assert "at risk" in off.output
    assert "NOT exported" in off.output
    on = runner.invoke(app, ["release", "build", str(release_dir), "-o", str(tmp_path / "on"),
                             "--unsigned"])  # fmt: skip
    assert on.exit_code == 0, on.output
    assert "NOT exported" not in on.output
    joint = json.loads((release_dir / "release.json").read_text())["joint_audit"]
    assert joint["passed"] is True
    assert joint["added"] >= 1
    keys = json.loads((tmp_path / "on" / "cellkeys.json").read_text())
    assert len(keys["outputs"]) == 3
    assert all("true_value" not in c for o in keys["outputs"] for c in o["cells"])
    check = runner.invoke(app, ["release", "verify", str(tmp_path / "on"), "--allow-unsigned"])
    assert check.exit_code == 0, check.output


@pytest.mark.slow
def test_name_clash_policy_and_previous(
    extract_dir: Path, release_dir: Path, tmp_path: Path
) -> None:
    start, by = RUNS[0]
    clash = measures(extract_dir, release_dir, start, by)
    assert clash.exit_code != 0  # type: ignore[attr-defined]
    assert "already registered" in clash.output  # type: ignore[attr-defined]
    other = measures(extract_dir, release_dir, start, by, "--policy", "sdap", "--name", "x")
    assert other.exit_code != 0  # type: ignore[attr-defined]
    assert "policy" in other.output  # type: ignore[attr-defined]
    replaced = measures(extract_dir, release_dir, start, by, "--replace")
    assert replaced.exit_code == 0, replaced.output  # type: ignore[attr-defined]
    protect = runner.invoke(app, ["release", "protect", str(release_dir)])
    assert protect.exit_code == 0, protect.output
    first = tmp_path / "first"
    done = runner.invoke(
        app, ["release", "build", str(release_dir), "-o", str(first), "--unsigned"]
    )
    assert done.exit_code == 0, done.output
    # a later release (April-February, providers) names the first export: its cells join
    later = tmp_path / "later"
    made = measures(extract_dir, later, "2023-04-01", "provider", end="2024-02-29")
    assert made.exit_code == 0  # type: ignore[attr-defined]
    again = runner.invoke(app, ["release", "build", str(later), "-o", str(tmp_path / "x"),
                                "--unsigned", "--previous", str(first)])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "1 earlier export(s)" in again.output
    joint = json.loads((later / "release.json").read_text())["joint_audit"]
    assert joint["passed"] is True
    assert joint["previous"] == [str(first)]
    hidden_before = {
        json.dumps(c["key"], sort_keys=True)
        for o in json.loads((first / "cellkeys.json").read_text())["outputs"]
        for c in o["cells"]
        if c["suppressed"]
    }
    shown_now = {
        json.dumps(c["key"], sort_keys=True)
        for o in json.loads((tmp_path / "x" / "cellkeys.json").read_text())["outputs"]
        for c in o["cells"]
        if not c["suppressed"]
    }
    assert not hidden_before & shown_now
