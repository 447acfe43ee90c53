"""The JSON record of a command (validate, derive, measures): result, error and row ledger.

A record is a plain dict built up by the command as it runs (the ledger so far included), so
that a refusal still writes it (:func:`iaptkit.cli.app.run_user_command`). Contract:
``docs/ledger.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iaptkit.errors import ConfigError

__all__ = ["check_record_target", "check_writable", "write_record"]


def check_writable(output: Path, what: str) -> None:
    """Refuse at once a path that is a folder, or whose folder cannot take a new file.

    ``what`` names the option in the message (``output``, ``--json``).

    Raises
    ------
    ConfigError
        Naming the path and why, before any work is done.

    Examples
    --------
    >>> check_writable(Path("/proc/x.csv"), "output")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: output /proc/x.csv: its folder /proc cannot take a new file ...
    """
    import tempfile

    if output.is_dir():
        raise ConfigError(f"{what} {output}: expected a file name, found a folder.")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output.parent, prefix=".iaptkit-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{what} {output}: its folder {output.parent} cannot take a new file "
            f"({exc.strerror or exc}); expected a folder you can write to."
        ) from None


def check_record_target(record: dict[str, Any] | None) -> None:
    """Refuse a ``--json FILE`` that cannot be written, before the command's work."""
    target = None if record is None else record.get("json_out")
    if target is not None and str(target) != "-":
        check_writable(Path(target), "--json")


def write_record(record: dict[str, Any]) -> None:
    """Write a command's JSON (``record["json_out"]``: a file, ``-`` for stdout, or ``None``).

    The JSON holds ``command``, ``status``, ``exit_code``, ``error`` and the ``ledger`` list
    (docs/ledger.md), and whatever else the command added.
    """
    import json

    target = record.get("json_out")
    if target is None:
        return
    body = {k: v for k, v in record.items() if k != "json_out"}
    body.setdefault("status", "ok")
    body.setdefault("exit_code", 0)
    body.setdefault("error", None)
    body.setdefault("ledger", [])
    text = json.dumps(body, indent=2, default=str)
    if str(target) == "-":
        typer.echo(text)
        return
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"--json {path}: cannot be written ({exc.strerror or exc}); expected a file in a "
            "folder you can write to."
        ) from None
