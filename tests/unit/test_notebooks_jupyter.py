"""Progress bars and one-line errors in Jupyter; Ctrl-C on the command line."""

from __future__ import annotations

import io
from typing import Any

import pytest
import typer

from iaptkit.cli.reporting import run_user_command
from iaptkit.errors import ConfigError
from iaptkit.notebooks.jupyter import INTERRUPTED, progress_bar, quiet_errors


class FakeShell:
    def __init__(self) -> None:
        self.exc: tuple[Any, Any] | None = None

    def set_custom_exc(self, types: Any, handler: Any) -> None:
        self.exc = (types, handler)


def test_errors_and_ctrl_c_show_one_line_in_ipython() -> None:
    shell = FakeShell()
    assert quiet_errors(shell)
    assert shell.exc is not None
    types, handler = shell.exc
    assert KeyboardInterrupt in types
    assert ConfigError.__mro__[1] in types
    assert handler(shell, KeyboardInterrupt, KeyboardInterrupt(), None) == [INTERRUPTED]
    err = ConfigError("period: the end is before the start")
    assert handler(shell, ConfigError, err, None) == [
        "ConfigError: period: the end is before the start"
    ]


def test_progress_bar_counts_to_the_total() -> None:
    out = io.StringIO()
    update = progress_bar("runs", file=out, mininterval=0)
    for done in range(4):
        update(f"run {done}", done, 3)
    text = out.getvalue()
    assert "runs" in text
    assert "3/3" in text


def test_ctrl_c_on_the_command_line_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stop:
        run_user_command(interrupted)
    assert stop.value.exit_code == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("interrupted:")
    assert "\n" not in err
    assert "Traceback" not in err
