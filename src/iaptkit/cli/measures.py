"""The ``iaptkit derive`` and ``iaptkit measures`` commands (I/O at the edges).

Both open an extract (DuckDB by default; ``--engine spark`` starts a local SparkSession when none
is active), run the library functions, write the result to CSV or parquet, and print progress
and a summary on stderr: pathways seen and the row ledger (:mod:`iaptkit.data.ledger`,
docs/ledger.md), counted as the command runs, not by a second derivation. An extract with a fatal
problem is refused (:func:`iaptkit.data.fatal.require_usable`) unless ``--allow-fatal``. User
errors raise :class:`~iaptkit.errors.IaptkitError` subclasses; the CLI prints them without a
traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from iaptkit.cli.data import render_ledger
from iaptkit.cli.records import write_record
from iaptkit.data import Extract, load_extract
from iaptkit.data.fatal import require_usable
from iaptkit.data.ledger import Ledger, TableLedger, count_rows, extract_ledger
from iaptkit.data.spark_tables import check_table_name, save_as_table
from iaptkit.definitions import load_definitions
from iaptkit.errors import ConfigError
from iaptkit.measures.catalogue import parse_breakdowns
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.families.specs import parse_families
from iaptkit.measures.partitions import auto_parts, check_parts, range_parts, written_parts
from iaptkit.measures.pathway_files import PathwayWriter
from iaptkit.measures.periods import check_period, parse_date
from iaptkit.measures.published import published_measures_with_count
from iaptkit.measures.sources import PathwaySource

__all__ = [
    "derive_command",
    "measures_command",
    "open_extract",
    "write_table",
]

_UNPROTECTED_NOTE = (
    "[bold yellow]UNPROTECTED:[/bold yellow] --policy none writes true values with no "
    "disclosure control. For use inside the secure environment only; never export this file."
)


def _console() -> Console:
    return Console(stderr=True, log_path=False)


def _output_format(output: Path) -> str:
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(
            f"output {output}: expected a file name ending in .csv or .parquet, found "
            f"{suffix or 'no suffix'!r}."
        )
    return suffix[1:]


def write_table(frame: pd.DataFrame, output: Path) -> None:
    """Write a table to ``.csv`` or ``.parquet`` (by suffix), creating the folder.

    Parameters
    ----------
    frame
        The table to write.
    output
        The file; its suffix decides the format.

    Raises
    ------
    ConfigError
        If the suffix is neither ``.csv`` nor ``.parquet``.

    Notes
    -----
    Results go to files, progress to stderr. A protected measures table (numeric, with a
    ``status`` column) is written to CSV with ``*`` where suppressed; Parquet keeps the numbers
    (``<NA>`` where suppressed) and the status.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_table(pd.DataFrame({"a": [1]}), Path(d) / "x.csv")
    ...     print((Path(d) / "x.csv").read_text().strip())
    a
    1
    """
    fmt = _output_format(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        if {"status", "kind", "policy_id"} <= set(frame.columns):
            # a protected table: suppression markers are written here, on export, only
            from iaptkit.sdc.measures_layout import export_layout

            frame = export_layout(frame)
        frame.to_csv(output, index=False)
    else:
        frame.to_parquet(output, index=False)


def _spark_session() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "--engine spark: pyspark is not installed (install iaptkit[spark]); "
            "use --engine duckdb."
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Python workers (none are needed by iaptkit's plans) run this interpreter, not the first
    # python3 on the PATH (pyspark reads PYSPARK_PYTHON when the context starts); a few shuffle
    # partitions per core, not Spark's 200 (a small extract's every stage would otherwise run
    # 200 near-empty tasks)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master("local[*]")
        .appName("iaptkit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 1)))
        .getOrCreate()
    )


def open_extract(source: str, engine: str, memory_limit: str | None = None) -> Extract:
    """Open an extract on DuckDB, or on Spark (starting a local session if none is active).

    Parameters
    ----------
    source
        Extract folder, DuckDB file, or Spark database name.
    engine
        ``"duckdb"`` or ``"spark"``.
    memory_limit
        DuckDB's memory limit, e.g. ``"8GB"`` (DuckDB only; ``None``: DuckDB's default, 80 % of
        the machine's memory). Larger work spills to disk, and is split into more parts.

    Returns
    -------
    Extract
        The opened extract.

    Raises
    ------
    ConfigError
        If the engine is unknown, pyspark is missing, or the memory limit is not a size.
    ExtractError
        If the extract cannot be opened.

    Notes
    -----
    docs/module-contracts.md, "Extract" (``load_extract``).

    Examples
    --------
    >>> open_extract("x", "sqlite")
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: --engine: expected duckdb or spark, found 'sqlite'.
    """
    if engine not in ("duckdb", "spark"):
        raise ConfigError(f"--engine: expected duckdb or spark, found {engine!r}.")
    if memory_limit is not None:
        if engine != "duckdb":
            raise ConfigError("--memory-limit: applies to --engine duckdb only.")
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit) is None:
            raise ConfigError(
                f"--memory-limit: expected a size such as 8GB or 512MiB, found {memory_limit!r}."
            )
    if engine == "spark":
        return load_extract(source, spark=_spark_session(), engine="spark")
    extract = load_extract(source, engine="duckdb")
    if memory_limit is not None:
        extract.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return extract


def _print_summary(
    console: Console, title: str, pathways: int, ledger: Ledger, output: Path
) -> None:
    console.print(f"[bold]{title}[/bold]: {pathways:,} pathways", highlight=False)
    render_ledger(ledger, console)
    console.print(f"Written: {output} (ledger and provenance beside it)", highlight=False)


def checked_ledger(
    ex: Extract,
    when: date,
    record: dict[str, Any],
    allow_fatal: bool,
    update: Callable[[str], None],
) -> Ledger:
    """Count the rows read, refuse a fatal extract, then count rows used and not used.

    The ledger so far is kept in ``record`` at every stage, so a refusal's JSON holds it.
    """
    read = Ledger()
    for name in ex.table_names():
        update(f"Reading {name}: counting rows")
        read = read.with_table(TableLedger(name, count_rows(ex, name), 0, {}))
        record["ledger"] = read.to_records()
    overridden = require_usable(ex, allow_fatal=allow_fatal)
    record["allow_fatal"] = allow_fatal
    record["fatal_problems_overridden"] = list(overridden)
    update("Counting rows used and not used (submissions, states as at the date)")
    ledger = extract_ledger(ex, when)
    record["ledger"] = ledger.to_records()
    return ledger


def _write_provenance(output: Path, record: dict[str, Any]) -> Path:
    body = {k: v for k, v in record.items() if k != "json_out"}
    path = output.with_name(output.name + ".provenance.json")
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    return path


@contextmanager
def _status(console: Console, message: str) -> Iterator[Callable[[str], None]]:
    with console.status(message) as status:

        def update(msg: str) -> None:
            status.update(msg)
            console.log(msg, highlight=False)

        yield update


def derive_command(
    extract: str,
    *,
    as_at: str,
    output: Path,
    definitions: Path | None,
    engine: str,
    parts: int | None = None,
    memory_limit: str | None = None,
    allow_fatal: bool = False,
    record: dict[str, Any] | None = None,
) -> None:
    """``iaptkit derive``: one row per pathway as at a date, written to CSV or parquet.

    Parameters
    ----------
    extract
        Extract folder, DuckDB file, or Spark database name.
    as_at
        ``YYYY-MM-DD``.
    output
        ``OUT.csv`` or ``OUT.parquet``.
    definitions
        A site's definitions YAML, or ``None`` for the packaged default.
    engine
        ``duckdb`` or ``spark``.
    parts
        Derive and write the pathways in this many PathwayID ranges, one after another (DuckDB;
        ``None``: about a million pathways per part, more if the memory limit needs it,
        ``iaptkit.measures.partitions.written_parts``). The file is the same.
    memory_limit
        DuckDB's memory limit, e.g. ``"8GB"`` (see :func:`open_extract`).
    allow_fatal
        Go on although the extract has a fatal problem (recorded in the provenance).
    record
        The command's JSON record; the ledger (docs/ledger.md) is added as it is counted.

    Raises
    ------
    ConfigError
        Bad date, output suffix, engine or parts.
    ExtractError
        The extract cannot be read.
    ValidationError
        The extract has a fatal problem (and ``allow_fatal`` is false).

    Notes
    -----
    docs/measures.md §1 (pathway derivations); docs/module-contracts.md "Pathway table".

    Examples
    --------
    >>> derive_command("x", as_at="2024-13-01", output=Path("o.csv"), definitions=None,
    ...                engine="duckdb")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: --as-at: expected a date as YYYY-MM-DD ..., found '2024-13-01'.
    """
    when = parse_date(as_at, what="--as-at")
    _output_format(output)
    check_parts(parts)
    defs = load_definitions(definitions)
    console = _console()
    record = record if record is not None else {"json_out": None}
    record.update(command="derive", extract=extract, as_at=str(when), output=str(output))
    ex = open_extract(extract, engine, memory_limit)
    try:
        with _status(console, f"Deriving pathways as at {when} ({engine})") as update:
            ledger = checked_ledger(ex, when, record, allow_fatal, update)
            n = parts if parts is not None else written_parts(ex)
            n = n if ex.engine == "duckdb" else 1
            # in PathwayID ranges, each derived, converted and written before the next: the
            # file is that of the whole table, with one part's rows in memory at a time
            slices: list[PathwaySource] = [*range_parts(ex, n)] if n > 1 else [ex]
            with PathwayWriter(output) as writer:
                for k, source in enumerate(slices):
                    if len(slices) > 1:
                        update(f"part {k + 1} of {len(slices)}: deriving pathways")
                    writer.write(derive_pathways(source, when, defs))
            update(f"Derived {writer.rows:,} pathways")
        record["pathways"] = writer.rows
        _write_provenance(output, record)
        _print_summary(console, f"Pathways as at {when}", writer.rows, ledger, output)
        write_record(record)
    finally:
        ex.close()


def _protect(table: pd.DataFrame, policy: str) -> pd.DataFrame:
    # imported here, where a policy is used, to keep the start of every other run light
    from iaptkit.sdc import load_policy, protect_measures

    result: pd.DataFrame = protect_measures(table, load_policy(policy)).published()
    return result


def measures_command(
    extract: str,
    *,
    start: str,
    end: str,
    output: Path,
    by: str,
    use_nhs_flags: bool,
    policy: str,
    definitions: Path | None,
    engine: str,
    parts: int | None = None,
    memory_limit: str | None = None,
    families: str = "all",
    allow_fatal: bool = False,
    record: dict[str, Any] | None = None,
    write_table_name: str | None = None,
) -> None:
    """``iaptkit measures``: the published measures of a period, by breakdown.

    Parameters
    ----------
    extract
        Extract folder, DuckDB file, or Spark database name.
    start, end
        The period, ``YYYY-MM-DD`` each.
    output
        ``OUT.csv`` or ``OUT.parquet``.
    by
        Comma-separated breakdowns; combine with ``x`` (``provider x age_band``).
    use_nhs_flags
        Use the NHS-derived IDS101 fields.
    policy
        A disclosure-control policy id or file, or ``none`` for unprotected values (for use
        inside the secure environment only; said on stderr).
    definitions
        A site's definitions YAML, or ``None``.
    engine
        ``duckdb`` or ``spark``.
    parts
        Derive in this many slices of the pathways (DuckDB; ``None``: chosen from the
        extract's size and the memory limit, see ``published_measures``).
    memory_limit
        DuckDB's memory limit, e.g. ``"8GB"`` (see :func:`open_extract`).
    families
        Measure families by number or name, comma separated, or ``all`` (docs/measures.md §5).
    allow_fatal
        Go on although the extract has a fatal problem (recorded in the provenance).
    record
        The command's JSON record; the ledger (docs/ledger.md) is added as it is counted.
    write_table_name
        ``DATABASE.TABLE``: also write the result as this Spark catalog table (replaced if
        present; ``--engine spark`` only), see docs/databricks.md.

    Raises
    ------
    ConfigError
        Bad dates, breakdowns, families, output suffix, engine, parts or table name.
    ValidationError
        The extract has a fatal problem (and ``allow_fatal`` is false).
    PolicyError
        An unknown policy.

    Notes
    -----
    docs/measures.md §2–§3; disclosure control per docs/disclosure-control.md via
    ``iaptkit.sdc.protect_measures``.

    Examples
    --------
    >>> measures_command("x", start="2024-04-01", end="2024-03-31", output=Path("o.csv"),
    ...     by="england", use_nhs_flags=False, policy="none", definitions=None, engine="duckdb")
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: period: the end 2024-03-31 is before the start 2024-04-01.
    """
    s, e = check_period(parse_date(start, what="--start"), parse_date(end, what="--end"))
    breakdowns = parse_breakdowns(by)
    chosen = parse_families(families)
    check_parts(parts)
    _output_format(output)
    if write_table_name is not None:
        check_table_name(write_table_name)
        if engine != "spark":
            raise ConfigError(
                f"--write-table: writes a Spark catalog table, with --engine spark only; "
                f"found --engine {engine}."
            )
    defs = load_definitions(definitions)
    console = _console()
    record = record if record is not None else {"json_out": None}
    record.update(command="measures", extract=extract, start=str(s), end=str(e))
    record.update(output=str(output), by=by, policy=policy)
    ex = open_extract(extract, engine, memory_limit)
    try:
        with _status(console, f"Measures {s} to {e} ({engine})") as update:
            ledger = checked_ledger(ex, e, record, allow_fatal, update)
            n = parts if parts is not None else auto_parts(ex)
            n = n if ex.engine == "duckdb" else 1
            table, pathways = published_measures_with_count(
                ex,
                s,
                e,
                [" x ".join(b) for b in breakdowns],
                defs,
                use_nhs_flags,
                progress=update,
                parts=n,
                families=[str(f) for f in chosen],
            )
            if policy.strip().lower() == "none":
                result = table
            else:
                update(f"Protecting under policy {policy}")
                result = _protect(table, policy)
            write_table(result, output)
            if write_table_name is not None:
                update(f"Writing Spark table {write_table_name}")
                rows = save_as_table(result, write_table_name, _spark_session())
                record["spark_table"] = {"name": write_table_name, "rows": rows}
        record["pathways"] = pathways
        _write_provenance(output, record)
        _print_summary(console, f"Measures {s} to {e}", pathways, ledger, output)
        write_record(record)
        if policy.strip().lower() == "none":
            console.print(_UNPROTECTED_NOTE)
    finally:
        ex.close()
