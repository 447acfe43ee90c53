"""How the command line reports: one line on stderr per user error, never a traceback.

Refusals of bad input exit 2, other user errors 1, Ctrl-C 130; anything else is a bug in iaptkit
(its traceback and a line asking to report it). Every command runs through
:func:`run_user_command`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from iaptkit.cli.records import check_record_target, write_record
from iaptkit.errors import IaptkitError

__all__ = ["REFUSAL_EXIT", "err_console", "run_user_command"]

T = TypeVar("T")


def err_console() -> Console:
    """A console on stderr (progress, summaries and warnings go there, never to stdout).

    ``soft_wrap``: an error is one line however narrow the terminal, so it can be copied, grepped
    and read by a script whole.
    """
    return Console(stderr=True, soft_wrap=True)


#: Errors that refuse bad input: exit code 2 (every other user error: 1).
REFUSAL_EXIT = 2


def _exit_code(exc: IaptkitError) -> int:
    from iaptkit.errors import ExtractError, ValidationError

    return REFUSAL_EXIT if isinstance(exc, ExtractError | ValidationError) else 1


def _say_error(message: str) -> None:
    err_console().print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)


def _user_error(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code of a user's error, or ``None`` for a bug."""
    import duckdb

    if isinstance(exc, IaptkitError):
        return exc.message, _exit_code(exc)
    if isinstance(exc, duckdb.OutOfMemoryException):
        first = str(exc).splitlines()[0] if str(exc) else "out of memory"
        return (
            f"DuckDB ran out of memory ({first}). Give it more with --memory-limit (e.g. 8GB), "
            "or, where the command has it, split the work with --parts N (a larger N needs "
            "less memory at once).",
            1,
        )
    if isinstance(exc, duckdb.InvalidInputException | duckdb.ConversionException):
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = " ".join(lines[:3]) if lines else type(exc).__name__
        return (
            f"Cannot read the input: {detail}. Expected complete, UTF-8 encoded files with "
            "the same number of fields on every line.",
            REFUSAL_EXIT,
        )
    return None


def run_user_command(fn: Callable[[], T], record: dict[str, Any] | None = None) -> T:
    """Run ``fn``; a user's error is one line on stderr and an exit code, never a traceback.

    Refusals of bad input (:class:`~iaptkit.errors.ExtractError`,
    :class:`~iaptkit.errors.ValidationError`, a file DuckDB cannot read) exit 2, other user
    errors 1. DuckDB running out of memory is a user's matter too (said with what to change).
    Anything else is a bug in iaptkit: its traceback, then a line asking to report it (exit 1).
    With ``record`` (the command's JSON, see :func:`write_record`), the error is written there
    too, with the ledger so far.
    """
    try:
        check_record_target(record)  # a --json FILE that cannot be written: said before the work
        return fn()
    except KeyboardInterrupt:
        err_console().print(
            "[bold red]interrupted:[/bold red] stopped by Ctrl-C; files being written were not "
            "finished (run the command again).",
            highlight=False,
        )
        _finish_record(record, "interrupted", 130)
        raise typer.Exit(code=130) from None
    except typer.Exit:
        raise
    except Exception as exc:
        said = _user_error(exc)
        if said is None:
            import traceback

            traceback.print_exc()
            _say_error(
                "this is a bug in iaptkit, not a problem with your input: please report it "
                "with the command you ran and the traceback above."
            )
            _finish_record(record, f"internal error: {type(exc).__name__}: {exc}", 1)
            raise typer.Exit(code=1) from None
        message, code = said
        _say_error(message)
        _finish_record(record, message, code)
        raise typer.Exit(code=code) from None


def _finish_record(record: dict[str, Any] | None, error: str, code: int) -> None:
    if record is None:
        return
    record["status"] = "refused" if code == REFUSAL_EXIT else "failed"
    if code == REFUSAL_EXIT and record.get("ledger"):
        # the rows read before the refusal are accounted: none is used (docs/ledger.md)
        from iaptkit.data.ledger import Ledger

        record["ledger"] = Ledger.from_records(record["ledger"]).refused().to_records()
    record["error"] = error
    record["exit_code"] = code
    # the --json file itself may be what cannot be written: the error above says so
    with contextlib.suppress(IaptkitError):
        write_record(record)
