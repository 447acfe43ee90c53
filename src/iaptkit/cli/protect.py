"""The ``iaptkit protect`` command: a count table CSV in, the protected CSV (and audit) out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from iaptkit.cli.records import check_writable
from iaptkit.errors import ConfigError
from iaptkit.sdc.policies import load_policy
from iaptkit.sdc.protect import ProtectedTable, check_secondary_method, protect
from iaptkit.sdc.solve import STAGES, cell_costs

__all__ = ["protect_command"]


def protect_command(
    table: Path,
    *,
    dims: Sequence[str],
    value: str,
    output: Path,
    policy: str = "nhs-sde",
    margins: bool = False,
    audit: Path | None = None,
    secondary: str = "auto",
    cost: str = "value",
    timeout: float | None = None,
) -> ProtectedTable:
    """Protect the count table in a CSV file and write the export view (and the audit).

    Parameters
    ----------
    table
        CSV with one row per inner cell: the ``dims`` columns and the ``value`` column.
    dims
        Dimension columns.
    value
        The count column.
    output
        Where to write the protected table: dims (margins ``"Total"``), ``value`` (number or
        ``*``), ``policy_id``, ``policy_version``.
    policy
        Policy id or YAML path.
    margins
        Add all marginal totals.
    audit
        Where to write the export-safe audit certificate (JSON).
    secondary
        Secondary suppression method: ``auto`` (default), ``lp``, ``modular`` or ``hypercube`` (see
        :func:`iaptkit.sdc.protect.protect`).
    cost
        What secondary suppression minimises: ``value`` (default), ``cells`` or a weight in
        ``[0, 1]`` on cells (:func:`iaptkit.sdc.solve.cell_costs`).
    timeout
        Seconds the secondary-suppression search may take; it then ends with the best safe
        pattern so far (see :func:`iaptkit.sdc.protect.protect`), said on the console.

    Returns
    -------
    ProtectedTable

    Raises
    ------
    ConfigError
        Missing or unreadable file, bad columns or counts.
    AuditFailedError
        The audit fails (nothing is written).

    Notes
    -----
    CLI contract in ``docs/module-contracts.md``; rules in ``docs/disclosure-control.md``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = pd.DataFrame({"sex": ["F", "M"], "n": [30, 40]}).to_csv(d / "t.csv", index=False)
    >>> pt = protect_command(d / "t.csv", dims=["sex"], value="n", output=d / "o.csv",
    ...                      policy="sdap", margins=True)
    >>> (d / "o.csv").read_text().splitlines()[1]
    'F,30,sdap,1.1'
    >>> int(pt.info_loss['secondary_value'])
    0
    """
    console = Console(stderr=True)
    check_secondary_method(secondary)  # before reading a possibly large file
    path = Path(table)
    if not path.is_file():
        raise ConfigError(f"Table file {path} not found (expected a CSV with one row per cell).")
    try:
        data = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        line = _first_line_not_utf8(path)
        raise ConfigError(
            f"Table file {path}, line {line}: bytes that are not UTF-8; expected a UTF-8 "
            "encoded CSV (save it as UTF-8)."
        ) from None
    except pd.errors.EmptyDataError:
        raise ConfigError(
            f"Table file {path} is empty: expected a header line naming the columns, then one "
            "line per cell."
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Table file {path} cannot be read as CSV: {exc}") from None
    _check_counts(data, value, path)
    pol = load_policy(policy)
    console.print(
        f"protecting {path} ({len(data)} rows; dims {', '.join(dims)}; count {value}) "
        f"under {pol.describe()}",
        highlight=False,
    )
    cell_costs(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), cost)  # refuse early
    for target in (output, audit):  # before the work, not after it
        if target is not None:
            check_writable(Path(target), "output" if target is output else "--audit")
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=None)
        if stage == "secondary":  # done = cells suppressed, total = cells still failing
            bar.update(tasks[stage], completed=done, total=done + total)
        else:
            bar.update(tasks[stage], completed=done, total=max(total, 1))

    with bar:
        pt = protect(
            data,
            list(dims),
            value,
            policy=pol,
            margins=margins,
            name=path.stem,
            secondary=secondary,
            cost=cost,
            progress=progress,
            timeout=timeout,
        )
    _write_atomically(pt, Path(output))
    if audit is not None:
        audit_path = Path(audit)
        audit_path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "table": pt.name,
            "policy_id": pol.id,
            "policy_version": pol.version,
            "secondary_method": secondary,
            "cost": cost,
            "information_loss": {k: float(v) for k, v in pt.info_loss.items()},
            "certificate": pt.certificate.to_dict(internal=False),
        }
        audit_path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    loss = pt.info_loss
    if loss.get("timed_out"):
        what = (
            "every cell but structural zeros suppressed (no safe pattern was found in time)"
            if loss.get("fallback")
            else "the pattern pruned so far"
        )
        console.print(
            f"timeout of {timeout:g} s reached: published the best safe pattern so far, {what}",
            highlight=False,
        )
    console.print(
        f"{int(loss['cells'])} cells: {int(loss['suppressed_primary'])} primary and "
        f"{int(loss['suppressed_secondary'])} secondary suppressions (value mass suppressed "
        f"{int(loss['suppressed_value'])}, of it secondary {int(loss['secondary_value'])}); audit "
        f"{'passed' if pt.audit_passed else 'FAILED'} -> {output}",
        highlight=False,
    )
    return pt


def _write_atomically(pt: ProtectedTable, output: Path) -> None:
    """Write the export view next to ``output`` and rename it into place (Ctrl-C safe)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(output.name + ".part")
    try:
        pt.to_csv(part)
        part.replace(output)
    finally:
        part.unlink(missing_ok=True)


#: The largest count accepted (far beyond any real count; 64-bit sums of such cells stay exact).
MAX_COUNT = 10**15


def _first_line_not_utf8(path: Path) -> int:
    """The number of the first line of ``path`` that does not decode as UTF-8 (0: none)."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _check_counts(data: pd.DataFrame, value: str, path: Path) -> None:
    """Refuse counts that are not whole numbers from 0 to :data:`MAX_COUNT` (naming the row)."""
    if value not in data.columns:
        return  # protect() names the missing column
    for row, text in enumerate(data[value].tolist(), start=2):
        raw = "" if text is None or text != text else str(text).strip()
        try:
            number = int(float(raw)) if raw and float(raw).is_integer() else None
        except (ValueError, OverflowError):
            number = None
        if not raw:
            raise ConfigError(
                f"Table file {path}, line {row}, column {value}: expected a count (a whole "
                f"number from 0 to {MAX_COUNT:,}), found nothing (a blank cell)."
            )
        if number is None or not 0 <= number <= MAX_COUNT:
            raise ConfigError(
                f"Table file {path}, line {row}, column {value}: expected a count (a whole "
                f"number from 0 to {MAX_COUNT:,}), found {raw[:40]!r}."
            )
