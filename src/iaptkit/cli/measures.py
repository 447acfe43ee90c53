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
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from iaptkit.cli.data import render_ledger
from iaptkit.cli.derived import derived_pathways
from iaptkit.cli.records import write_record
from iaptkit.data import Extract, load_extract
from iaptkit.data.fatal import require_usable
from iaptkit.data.ledger import (
    NOT_NEEDED_TABLES,
    Ledger,
    TableLedger,
    count_rows,
    extract_ledger,
)
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.definitions.commissioners import CommissionerLookup, load_commissioner_lookup
from iaptkit.errors import ConfigError
from iaptkit.measures.catalogue import parse_breakdowns
from iaptkit.measures.commissioners import check_lookup_for, unknown_commissioners
from iaptkit.measures.derive import derive_pathways, derive_pathways_arrow
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
    return (
        SparkSession.builder.master("local[*]")
        .appName("iaptkit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
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
    definitions: Definitions | None = None,
    not_needed: frozenset[str] = NOT_NEEDED_TABLES,
) -> Ledger:
    """Count the rows read, refuse a fatal extract, then count rows used and not used.

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
        # what `iaptkit measures --pathways` checks before it counts this file
        record.update(extract_fingerprint=ex.fingerprint(), definitions_version=defs.version)
        with _status(console, f"Deriving pathways as at {when} ({engine})") as update:
            ledger = checked_ledger(ex, when, record, allow_fatal, update, defs)
            n = parts if parts is not None else written_parts(ex)
            n = n if ex.engine == "duckdb" else 1
            # in PathwayID ranges, each derived, converted and written before the next: the
            # file is that of the whole table, with one part's rows in memory at a time
            slices: list[PathwaySource] = [*range_parts(ex, n)] if n > 1 else [ex]
            with PathwayWriter(output) as writer:
                for k, source in enumerate(slices):
                    if len(slices) > 1:
                        update(f"part {k + 1} of {len(slices)}: deriving pathways")
                    if ex.engine == "duckdb":
                        # DuckDB hands Arrow over without copies: no pandas round trip
                        writer.write_arrow(derive_pathways_arrow(source, when, defs))
                    else:
                        writer.write(derive_pathways(source, when, defs))
            update(f"Derived {writer.rows:,} pathways")
        record["pathways"] = writer.rows
        _write_provenance(output, record)
        _print_summary(console, f"Pathways as at {when}", writer.rows, ledger, output)
        write_record(record)
    finally:
        ex.close()


def _protect(table: pd.DataFrame, policy: str) -> Any:
    # imported here, where a policy is used, to keep the start of every other run light
    from iaptkit.sdc import load_policy, protect_measures

    return protect_measures(table, load_policy(policy))


def _check_release(
    release: Path, policy: str, name: str | None, replace: bool, params: dict[str, Any]
) -> None:
    """Refuse ``--release`` before any work: no policy, another policy, or a name taken."""
    if policy.strip().lower() == "none":
        raise ConfigError("--release: expected a disclosure-control --policy; found 'none'.")
    from iaptkit.release.routes import output_uid, refuse_clash
    from iaptkit.sdc import load_policy

    uid = output_uid(name, {k: str(v) for k, v in params.items()})
    refuse_clash(release, uid, str(load_policy(policy).id), replace)


def _register(release: Path, pm: Any, ex: Extract, params: dict[str, Any]) -> str:
    """Register the protected measures in the release folder (``--release``); its uid."""
    from iaptkit.release.routes import register_measures_run

    name, replace = params.pop("name", None), bool(params.pop("replace", False))
    out = register_measures_run(
        release, pm, name=name, replace=replace, parameters=params, fingerprint=ex.fingerprint()
    )
    return f"Registered output {out.uid} ({out.status}) in release {release}"


def _print_lookup(
    console: Console, lookup: CommissionerLookup, unknown: list[dict[str, Any]]
) -> None:
    """One line on the commissioner lookup and the codes it lacks (grouped "Not in lookup")."""
    line = f"Commissioner lookup {lookup.path} (version {lookup.version})"
    if unknown:
        total = sum(int(u["pathways"]) for u in unknown)
        codes = ", ".join(str(u["code"]) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        line += (
            f": {len(unknown)} commissioner code(s) not in it ({codes}{more}), "
            f"{total:,} pathways, counted as 'Not in lookup'"
        )
    else:
        line += ": every commissioner code found"
    console.print(line, highlight=False)


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
    commissioner_lookup: str | None = None,
    release: Path | None = None,
    name: str | None = None,
    replace: bool = False,
    pathways_file: Path | None = None,
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
    commissioner_lookup
        A Sub-ICB -> ICB -> region CSV, or ``synthetic``; the commissioner codes it lacks are
        counted, printed and recorded (``commissioners_not_in_lookup``).
    release, name, replace
        Also register the protected result in this release folder (created if missing), as
        output ``name`` (default: families, period and breakdowns); an existing output of that
        name is refused unless ``replace`` (docs/release-format.md, "Every route registers").
    pathways_file
        The parquet file of ``iaptkit derive --as-at END`` for this extract
        (:func:`derived_pathways`): counted instead of deriving the pathways again; the
        ledger is the derive's.

    Raises
    ------
    ConfigError
        Bad dates, breakdowns, families, output suffix, engine or parts, or a
        ``pathways_file`` not derived from this extract as at ``end``.
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
    if release is not None:
        _check_release(
            release, policy, name, replace, {"start": s, "end": e, "by": by, "families": families}
        )
    defs = load_definitions(definitions)
    lookup = load_commissioner_lookup(commissioner_lookup) if commissioner_lookup else None
    check_lookup_for(breakdowns, lookup)
    console = _console()
    record = record if record is not None else {"json_out": None}
    record.update(command="measures", extract=extract, start=str(s), end=str(e))
    record.update(output=str(output), by=by, policy=policy)
    ex = open_extract(extract, engine, memory_limit)
    try:
        with _status(console, f"Measures {s} to {e} ({engine})") as update:
            derived = None
            if pathways_file is not None:
                if use_nhs_flags:
                    raise ConfigError(
                        "--pathways: counts iaptkit's own derivation; not with --use-nhs-flags."
                    )
                derived, ledger = derived_pathways(pathways_file, ex, e, defs.version, record)
                record["allow_fatal"] = allow_fatal
                record["fatal_problems_overridden"] = list(
                    require_usable(ex, allow_fatal=allow_fatal)
                )
            else:
                not_needed = NOT_NEEDED_TABLES - ({"IDS004EmpStatus"} if 8 in chosen else set())
                ledger = checked_ledger(ex, e, record, allow_fatal, update, defs, not_needed)
            n = parts if parts is not None else 1 if derived is not None else auto_parts(ex)
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
                commissioner_lookup=lookup,
                pathways=derived,
            )
            if lookup is not None:
                unknown = unknown_commissioners(ex, e, lookup)
                record["commissioner_lookup"] = {"path": lookup.path, "version": lookup.version}
                record["commissioners_not_in_lookup"] = unknown.to_dict("records")
            if policy.strip().lower() == "none":
                result = table
            else:
                update(f"Protecting under policy {policy}")
                pm = _protect(table, policy)
                result = pm.published()
            write_table(result, output)
            if release is not None:
                update(f"Registering in release {release} (joint audit at build)")
                params: dict[str, Any] = {"start": str(s), "end": str(e), "by": by}
                params.update(families=families, policy=policy, name=name, replace=replace)
                said = _register(release, pm, ex, params)
        record["pathways"] = pathways
        _write_provenance(output, record)
        _print_summary(console, f"Measures {s} to {e}", pathways, ledger, output)
        if lookup is not None:
            _print_lookup(console, lookup, record["commissioners_not_in_lookup"])
        write_record(record)
        if policy.strip().lower() == "none":
            console.print(_UNPROTECTED_NOTE)
        if release is not None:
            console.print(said, highlight=False)
    finally:
        ex.close()
