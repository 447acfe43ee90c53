"""The CLI's shell: help reads well, version, user errors without tracebacks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from iaptkit import __version__
from iaptkit.cli.app import app

runner = CliRunner()


COMMANDS = ("validate", "synth", "derive", "measures", "protect", "check", "run", "demo", "release")


def _panel_rows(output: str) -> dict[str, str]:
    """The rows of rich's Commands panel: command name -> the first line of its help."""
    rows: dict[str, str] = {}
    panel = output.split("Commands", 1)[1]
    for line in panel.splitlines():
        match = re.match(r"^│ (\S+)\s{2,}(.*?)\s*│$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    rows = _panel_rows(result.output)
    assert set(COMMANDS) <= set(rows), f"missing from --help: {set(COMMANDS) - set(rows)}"
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in COMMANDS:
        summary = (commands[name].help or "").split()
        assert summary, f"{name} has no help text"
        # the row shows the start of the command's own help, not some other text
        assert rows[name].split()[:3] == summary[:3], (name, rows[name])
    release = runner.invoke(app, ["release", "--help"])
    assert release.exit_code == 0
    assert {"build", "verify"} <= set(_panel_rows(release.output))


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"iaptkit {__version__}"


def test_user_error_is_one_message_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-extract"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2  # a refusal of the input (ExtractError)
    assert "Traceback" not in result.output
    assert "error:" in result.output
    assert str(missing.name) in result.output


def test_python_dash_m_iaptkit(tmp_path: Path) -> None:
    """``python -m iaptkit`` is the ``iaptkit`` command (src/iaptkit/__main__.py)."""
    version = subprocess.run(
        [sys.executable, "-m", "iaptkit", "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"iaptkit {__version__}\n"
    missing = tmp_path / "no-such-extract"
    failed = subprocess.run(
        [sys.executable, "-m", "iaptkit", "validate", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2  # a refusal of the input (ExtractError)
    assert failed.stdout == ""  # user errors go to stderr
    assert "error:" in failed.stderr
    assert "no-such-extract" in " ".join(failed.stderr.split())
    assert "Traceback" not in failed.stderr


def test_demo_module_and_command_share_options() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "iaptkit.cli.demo", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.returncode == 0, module.stderr
    command = runner.invoke(app, ["demo", "--help"])
    assert command.exit_code == 0
    for option in ("--out", "--pathways", "--workers"):
        assert option in module.stdout
        assert option in command.output


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path) -> None:
    """``-o``/``--json``/``--audit`` under a file (not a folder): one line, exit 1, no files."""
    from iaptkit.synth.generate import write_synthetic

    extract = tmp_path / "extract"
    write_synthetic(extract, pathways=30, start="2024-01", months=2, providers=1, seed=2)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    table = tmp_path / "t.csv"
    table.write_text("sex,n\nF,12\nM,30\n")
    bad = blocker / "out.csv"
    period = ["--start", "2024-01-01", "--end", "2024-02-29", "--families", "0"]
    cases = [
        (["derive", str(extract), "--as-at", "2024-02-29", "-o", str(blocker / "p.parquet")],
         "output"),
        (["measures", str(extract), *period, "-o", str(bad)], "output"),
        (["measures", str(extract), *period, "-o", str(tmp_path / "m.csv"), "--json",
          str(blocker / "m.json")], "--json"),
        (["validate", str(extract), "--json", str(blocker / "v.json")], "--json"),
        (["protect", str(table), "--dims", "sex", "--value", "n", "-o", str(bad)], "output"),
        (["protect", str(table), "--dims", "sex", "--value", "n", "-o", str(tmp_path / "p.csv"),
          "--audit", str(blocker / "a.json")], "--audit"),
    ]  # fmt: skip
    for args, what in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.output
        assert errors[0].startswith(f"error: {what} {blocker}"), errors[0]
        assert "cannot take a new file" in errors[0]
        assert "Traceback" not in result.output
    assert not (tmp_path / "m.csv").exists()
    assert not (tmp_path / "p.csv").exists()
