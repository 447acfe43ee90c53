"""What the ``derive`` and ``measures`` commands share: opening an extract, the row ledger with
the fatal check, progress on the terminal, writing results and their provenance.
"""

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from rich.console import Console

from iaptkit.cli.data import render_ledger
from iaptkit.cli.records import check_writable
from iaptkit.data import Extract, load_extract
from iaptkit.data.fatal import require_usable
from iaptkit.data.ledger import (
    Ledger,
    TableLedger,
    count_rows,
    extract_ledger,
)
from iaptkit.data.schema import TABLES
from iaptkit.definitions import Definitions
from iaptkit.errors import ConfigError

__all__ = [
    "UNPROTECTED_NOTE",
    "StatusUpdate",
    "checked_ledger",
    "command_status",
    "local_spark_conf",
    "make_console",
    "open_extract",
    "output_format",
    "print_summary",
    "spark_session",
    "stage_progress",
    "write_provenance",
    "write_table",
]

UNPROTECTED_NOTE = (
    "[bold yellow]UNPROTECTED:[/bold yellow] --policy none writes true values with no "
    "disclosure control. For use inside the secure environment only; never export this file."
)


def make_console() -> Console:
    return Console(stderr=True, log_path=False)


def output_format(output: Path) -> str:
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(
            f"output {output}: expected a file name ending in .csv or .parquet, found "
            f"{suffix or 'no suffix'!r}."
        )
    return suffix[1:]


def writable_output(output: Path) -> str:
    """The output's format, once its folder is known to take a new file (before any work).

    A name that is not ``.csv``/``.parquet``, an existing folder, or a folder that cannot be
    created or written is refused at once, naming the path, rather than after the work.

    Raises
    ------
    ConfigError
        What was expected and what was found.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     writable_output(Path(d) / "new" / "x.csv")
    'csv'
    """
    fmt = output_format(output)
    check_writable(output, "output")
    return fmt


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
    fmt = output_format(output)
    if fmt == "csv" and {"status", "kind", "policy_id"} <= set(frame.columns):
        # a protected table: suppression markers are written here, on export, only
        from iaptkit.sdc.measures_layout import export_layout

        frame = export_layout(frame)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            frame.to_csv(output, index=False)
        else:
            frame.to_parquet(output, index=False)
    except OSError as exc:
        raise ConfigError(
            f"output {output}: cannot be written ({exc.strerror or exc}); expected a file in a "
            "folder you can write to."
        ) from None


def spark_session() -> Any:
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
    # python3 on the PATH (pyspark reads PYSPARK_PYTHON when the context starts)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master("local[*]").appName("iaptkit")
    for key, value in local_spark_conf().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_spark_conf() -> dict[str, str]:
    """The settings of the local Spark session the commands start (none is active).

    Returns
    -------
    dict
        Spark configuration key -> value.

    Notes
    -----
    * no UI, no console progress bar;
    * a few shuffle partitions per core, not Spark's 200 (a small extract's every stage would
      otherwise run 200 near-empty tasks); adaptive execution (on by default in Spark 3.2+,
      set here for older sessions) coalesces them further and broadcasts small join sides;
      turning it off measured slower (fewer jobs, more CPU).

    * the driver's memory (in local mode, the memory every task shares): half the machine's,
      at least 1 GB and at most 16 GB (Spark's default of 1 GB failed at 200,000 synthetic
      pathways, and so did 2 GB: "Unable to acquire memory" in a sort-merge join; the JVM's
      peak there was 7.8 GB with 8 GB given).

    Measured and not set: the client JIT compiler only with the serial collector
    (``-XX:TieredStopAtLevel=1 -XX:+UseSerialGC``) cut the JVM's CPU time on 257 pathways
    from 83 s to 58 s, but not the wall time on an idle two-core machine (the optimising
    compiler used the idle core, and its code ran the ledger and derivation faster).

    Examples
    --------
    >>> local_spark_conf()["spark.ui.enabled"]
    'false'
    """
    return {
        "spark.driver.memory": f"{_driver_memory_gb()}g",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1)),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
    }


def _driver_memory_gb() -> int:
    """Half the machine's memory in whole GB, between 1 and 16 (1 where it cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1
    return max(1, min(16, int(total / 2**30 / 2)))


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
        return load_extract(source, spark=spark_session(), engine="spark")
    extract = load_extract(source, engine="duckdb")
    if memory_limit is not None:
        extract.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return extract


def empty_table_warnings(ledger: Ledger) -> list[str]:
    """A warning per required table with no rows (a header only): the extract looks incomplete.

    Examples
    --------
    >>> empty_table_warnings(Ledger((TableLedger("IDS201CareContact", 0, 0, {}),)))[0][:40]
    'IDS201CareContact has no rows: every mea'
    """
    return [
        f"{t.table} has no rows: every measure that reads it counts nobody (validate: "
        "empty_table); check that the extract is complete."
        for t in ledger.tables
        if t.rows_in_files == 0 and t.table in TABLES and TABLES[t.table].required
    ]


def print_summary(
    console: Console, title: str, pathways: int, ledger: Ledger, output: Path
) -> None:
    console.print(f"[bold]{title}[/bold]: {pathways:,} pathways", highlight=False)
    render_ledger(ledger, console)
    for warning in empty_table_warnings(ledger):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    console.print(f"Written: {output} (ledger and provenance beside it)", highlight=False)


def checked_ledger(
    ex: Extract,
    when: date,
    record: dict[str, Any],
    allow_fatal: bool,
    update: Callable[[str], None],
    definitions: Definitions | None = None,
    not_needed: frozenset[str] = frozenset(),
) -> Ledger:
    """Count the rows read, refuse a fatal extract, then count rows used and not used.

    ``not_needed``: the tables no part of the command's result reads (their rows are all
    ``not_needed_by_command``; ``iaptkit.measures.families.reads.tables_not_needed``).

    The ledger so far is kept in ``record`` at every stage, so a refusal's JSON holds it.
    """
    # the ledger and the derivation read the same referral states: computed once
    ex.keep_referral_states()
    read = Ledger()
    for name in ex.table_names():
        update(f"Reading {name}: counting rows")
        read = read.with_table(TableLedger(name, count_rows(ex, name), 0, {}))
        record["ledger"] = read.to_records()
    overridden = require_usable(ex, allow_fatal=allow_fatal)
    record["allow_fatal"] = allow_fatal
    record["fatal_problems_overridden"] = list(overridden)
    update("Counting rows used and not used (submissions, states as at the date)")
    ledger = extract_ledger(ex, when, definitions, read, not_needed)
    record["ledger"] = ledger.to_records()
    record["warnings"] = empty_table_warnings(ledger)
    return ledger


def write_provenance(output: Path, record: dict[str, Any]) -> Path:
    body = {k: v for k, v in record.items() if k != "json_out"}
    path = output.with_name(output.name + ".provenance.json")
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    return path


class StatusUpdate(Protocol):
    """Show ``msg`` on the status line; with ``log`` (the default) also as a logged line."""

    def __call__(self, msg: str, log: bool = True) -> None: ...


@contextmanager
def command_status(console: Console, message: str) -> Iterator[StatusUpdate]:
    with console.status(message) as status:

        def update(msg: str, log: bool = True) -> None:
            status.update(msg)
            if log:
                console.log(msg, highlight=False)

        yield update


def stage_progress(
    update: StatusUpdate, what: str, labels: Mapping[str, str]
) -> Callable[[str, int, int], None]:
    """A ``progress(stage, done, total)`` callback that counts on the status line.

    Each stage's first call is logged (``what: label``, the label from ``labels``); the
    counts then only update the line.
    """
    last = [""]  # the stage reported last

    def progress(stage: str, done: int, total: int) -> None:
        label = labels.get(stage, stage)
        first = stage != last[0]
        last[0] = stage
        update(f"{what}: {label}" if first else f"{what}: {label} {done:,}/{total:,}", first)

    return progress
