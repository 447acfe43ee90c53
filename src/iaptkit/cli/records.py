"""The JSON record of a command (validate, derive, measures): result, error and row ledger.

A record is a plain dict built up by the command as it runs (the ledger so far included), so
that a refusal still writes it (:func:`iaptkit.cli.app.run_user_command`). Contract:
``docs/ledger.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["write_record"]


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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
