"""The CLI's shell: help reads well, version, user errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from iaptkit import __version__
from iaptkit.cli.app import app

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "validate",
        "synth",
        "derive",
        "measures",
        "protect",
        "check",
        "run",
        "release",
    ):
        assert command in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"iaptkit {__version__}"


def test_user_error_is_one_message_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-extract"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "error:" in result.output
    assert str(missing.name) in result.output
