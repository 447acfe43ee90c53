"""The ``iaptkit validate`` and ``iaptkit synth`` commands, and the validation report's table.

The work is done by :func:`iaptkit.data.validation.validate` and
:func:`iaptkit.synth.generate.write_synthetic`; this module only prints (on stderr, as rich
output) and writes the JSON report where asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from iaptkit.cli.records import write_record
from iaptkit.data.ledger import Ledger, TableLedger, count_rows, extract_ledger
from iaptkit.data.loading import load_extract
from iaptkit.data.validation import validate
from iaptkit.data.validation_report import SEVERITIES, ValidationReport
from iaptkit.errors import ConfigError

__all__ = ["render_ledger", "render_report", "synth_command", "validate_command"]

#: Colour of each severity in the report table.
_COLOURS = {"fatal": "bold red", "error": "red", "warning": "yellow", "info": "dim"}


def render_report(report: ValidationReport, console: Console) -> None:
    """Print a validation report as a rich table, then a one-line summary.

    Parameters
    ----------
    report
        The report (:func:`iaptkit.data.validation.validate`).
    console
        Where to print (the commands use a console on stderr).

    Examples
    --------
    >>> from iaptkit.data.validation_report import Problem
    >>> r = ValidationReport("demo", (Problem("error", "duplicate_key", "IDS201CareContact",
    ...     "CareContactId", 2, (), "2 duplicated rows"),), {"IDS201CareContact": 10})
    >>> import io
    >>> out = io.StringIO()
    >>> render_report(r, Console(file=out, width=200))
    >>> out.getvalue().splitlines()[-1]
    '1 problems: 0 fatal, 1 error, 0 warning, 0 info.'
    """
    table = Table(title=f"Validation of {report.source}", show_lines=False)
    for col in ("severity", "rule", "table", "column", "rows", "examples", "message"):
        table.add_column(col, overflow="fold")
    for p in report.problems:
        table.add_row(
            f"[{_COLOURS[p.severity]}]{p.severity}[/]",
            p.rule,
            p.table,
            p.column or "",
            f"{p.rows:,}",
            "\n".join(p.examples[:3]),
            p.message,
        )
    console.print(table)
    summary = ", ".join(f"{len(report.by_severity(s))} {s}" for s in SEVERITIES)
    console.print(f"{len(report.problems)} problems: {summary}.", highlight=False)


def render_ledger(ledger: Ledger, console: Console) -> None:
    """Print the row ledger: per table, rows in the files, used, and not used by reason.

    Examples
    --------
    >>> import io
    >>> from iaptkit.data.ledger import TableLedger
    >>> out = io.StringIO()
    >>> render_ledger(Ledger((TableLedger("IDS001MPI", 3, 2, {"superseded_submission": 1}),)),
    ...               Console(file=out, width=200))
    >>> "superseded_submission 1" in out.getvalue()
    True
    """
    table = Table(title="Rows: in the files = used + not used", title_justify="left")
    for col in ("table", "in files", "used", "not used (by reason)"):
        table.add_column(col, justify="right" if col in ("in files", "used") else "left")
    for t in ledger.tables:
        reasons = ", ".join(f"{r} {n:,}" for r, n in t.rows_not_used.items()) or "none"
        table.add_row(t.table, f"{t.rows_in_files:,}", f"{t.rows_used:,}", reasons)
    console.print(table)


def validate_command(
    extract: str, *, json_out: Path | str | None = None, record: dict[str, Any] | None = None
) -> int:
    """``iaptkit validate EXTRACT [--json OUT]``: print the report, exit 1 only if fatal.

    Parameters
    ----------
    extract
        An extract folder, DuckDB file or Spark database (:func:`iaptkit.data.load_extract`).
    json_out
        Where to write the JSON (a file, or ``-`` for stdout), when no ``record`` is given.
    record
        The command's JSON record (``json_out`` key: a file, ``-`` or ``None``); the report and
        the ``ledger`` are added to it and it is written.

    Returns
    -------
    int
        The exit code: 1 when a problem is fatal, else 0.

    Notes
    -----
    The report goes to stderr as a rich table; results (the JSON) go to a file or stdout.
    The ledger's reasons: docs/ledger.md.

    Examples
    --------
    >>> validate_command("/no/such/extract")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    iaptkit.errors.ExtractError: Extract /no/such/extract does not exist: ...
    """
    record = record if record is not None else {"json_out": json_out}
    record.setdefault("command", "validate")
    console = Console(stderr=True)
    opened = load_extract(extract)
    try:
        console.print(f"Validating {opened.source} ({len(opened.table_names())} tables)...")
        read = Ledger()
        for name in opened.table_names():
            read = read.with_table(TableLedger(name, count_rows(opened, name), 0, {}))
            record["ledger"] = read.to_records()
        report = validate(opened)
        ledger = extract_ledger(opened) if not report.fatal else read.refused()
        record["ledger"] = ledger.to_records()
    finally:
        opened.close()
    render_report(report, console)
    render_ledger(ledger, console)
    code = 1 if report.fatal else 0
    record.update({k: v for k, v in report.to_dict().items() if k != "ledger"})
    record["status"] = "fatal" if report.fatal else "ok"
    record["exit_code"] = code
    write_record(record)
    target = record.get("json_out")
    if target is not None and str(target) != "-":
        console.print(f"Report written to {target}", highlight=False)
    return code


def synth_command(
    out: str | Path,
    *,
    pathways: int,
    start: str,
    months: int,
    providers: int,
    seed: int,
    fmt: str,
    with_nhs_fields: bool,
    faults: float,
) -> None:
    """CLI body of ``iaptkit synth``: write the extract, report progress on stderr.

    Parameters
    ----------
    out
        Output folder.
    pathways, start, months, providers, seed, with_nhs_fields, faults
        As for :func:`iaptkit.synth.generate.write_synthetic`.
    fmt
        ``parquet`` or ``csv`` (the ``--format`` option).

    Raises
    ------
    ConfigError
        If ``fmt`` or another parameter is out of range.

    Notes
    -----
    See :func:`~iaptkit.synth.generate.write_synthetic`; docs/data-model.md for the tables written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     synth_command(d, pathways=50, start="2024-01", months=1, providers=1, seed=1,
    ...                   fmt="csv", with_nhs_fields=False, faults=0.0)
    """
    console = Console(stderr=True)
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format: expected parquet or csv, found {fmt!r}.")

    def report(done: int, total: int) -> None:
        console.print(f"synth: month {done}/{total} written", highlight=False)

    # imported here: the generator's modules take half a second to import, which every other
    # command (derive, measures, validate) would otherwise pay
    from iaptkit.synth.generate import write_synthetic

    summary = write_synthetic(
        out,
        pathways=pathways,
        start=start,
        months=months,
        providers=providers,
        seed=seed,
        fmt="csv" if fmt == "csv" else "parquet",
        with_nhs_fields=with_nhs_fields,
        faults=faults,
        progress=report,
    )
    total_faults = sum(sum(v.values()) for v in summary.faults.values())
    console.print(
        f"synth: {summary.pathways:,} pathways, {sum(summary.rows.values()):,} rows in "
        f"{len(summary.rows)} tables, {total_faults:,} injected faults, "
        f"{summary.seconds:.1f} s ({summary.rate:,.0f} pathways/s) -> {summary.folder}",
        highlight=False,
    )
