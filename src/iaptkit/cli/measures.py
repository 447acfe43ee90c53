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

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from iaptkit.cli.commands_common import (
    UNPROTECTED_NOTE,
    StatusUpdate,
    checked_ledger,
    command_status,
    make_console,
    open_extract,
    print_summary,
    spark_session,
    stage_progress,
    writable_output,
    write_provenance,
    write_table,
)
from iaptkit.cli.derived import derived_pathways, with_family_tables
from iaptkit.cli.records import write_record
from iaptkit.data import Extract
from iaptkit.data.fatal import require_usable
from iaptkit.data.spark_tables import check_table_name, save_as_table
from iaptkit.definitions import load_definitions
from iaptkit.definitions.commissioners import CommissionerLookup, load_commissioner_lookup
from iaptkit.definitions.model import BreakdownRules
from iaptkit.errors import ConfigError
from iaptkit.measures.catalogue import parse_breakdowns
from iaptkit.measures.commissioners import check_lookup_for, unknown_commissioners
from iaptkit.measures.derive import derive_pathways, derive_pathways_arrow
from iaptkit.measures.families.reads import tables_not_needed
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
    writable_output(output)
    check_parts(parts)
    defs = load_definitions(definitions)
    console = make_console()
    record = record if record is not None else {"json_out": None}
    record.update(command="derive", extract=extract, as_at=str(when), output=str(output))
    ex = open_extract(extract, engine, memory_limit)
    try:
        # what `iaptkit measures --pathways` checks before it counts this file
        record.update(extract_fingerprint=ex.fingerprint(), definitions_version=defs.version)
        with command_status(console, f"Deriving pathways as at {when} ({engine})") as update:
            # the pathway table alone: the tables only some measure families read are not needed
            not_needed = tables_not_needed(ex.table_names(), ())
            ledger = checked_ledger(ex, when, record, allow_fatal, update, defs, not_needed)
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
        write_provenance(output, record)
        print_summary(console, f"Pathways as at {when}", writer.rows, ledger, output)
        write_record(record)
    finally:
        ex.close()


def _protect(
    table: pd.DataFrame, policy: str, categories: BreakdownRules, update: StatusUpdate
) -> Any:
    # imported here, where a policy is used, to keep the start of every other run light
    from iaptkit.sdc import load_policy, protect_measures
    from iaptkit.sdc.solve import STAGES

    progress = stage_progress(update, f"Protecting under policy {policy}", STAGES)
    return protect_measures(table, load_policy(policy), categories=categories, progress=progress)


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
    write_table_name
        ``DATABASE.TABLE``: also write the result as this Spark catalog table (replaced if
        present; ``--engine spark`` only), see docs/databricks.md.

    Raises
    ------
    ConfigError
        Bad dates, breakdowns, families, output suffix, engine, parts or table name, or a
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
    writable_output(output)
    if release is not None:
        _check_release(
            release, policy, name, replace, {"start": s, "end": e, "by": by, "families": families}
        )
    if write_table_name is not None:
        check_table_name(write_table_name)
        if engine != "spark":
            raise ConfigError(
                f"--write-table: writes a Spark catalog table, with --engine spark only; "
                f"found --engine {engine}."
            )
    defs = load_definitions(definitions)
    lookup = load_commissioner_lookup(commissioner_lookup) if commissioner_lookup else None
    check_lookup_for(breakdowns, lookup)
    console = make_console()
    record = record if record is not None else {"json_out": None}
    record.update(command="measures", extract=extract, start=str(s), end=str(e))
    record.update(output=str(output), by=by, policy=policy)
    ex = open_extract(extract, engine, memory_limit)
    try:
        with command_status(console, f"Measures {s} to {e} ({engine})") as update:
            derived = None
            if pathways_file is not None:
                if use_nhs_flags:
                    raise ConfigError(
                        "--pathways: counts iaptkit's own derivation; not with --use-nhs-flags."
                    )
                derived, ledger = derived_pathways(pathways_file, ex, e, defs.version, record)
                ledger = with_family_tables(ledger, ex, e, defs, chosen)
                record["ledger"] = ledger.to_records()
                record["allow_fatal"] = allow_fatal
                record["fatal_problems_overridden"] = list(
                    require_usable(ex, allow_fatal=allow_fatal)
                )
            else:
                # a table is not needed exactly when no selected family reads it
                not_needed = tables_not_needed(ex.table_names(), chosen)
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
                # every label of a breakdown a row: a missing row would read as a known 0
                pm = _protect(table, policy, defs.breakdowns, update)
                result = pm.published()
            write_table(result, output)
            if release is not None:
                update(f"Registering in release {release} (joint audit at build)")
                params: dict[str, Any] = {"start": str(s), "end": str(e), "by": by}
                params.update(families=families, policy=policy, name=name, replace=replace)
                said = _register(release, pm, ex, params)
            if write_table_name is not None:
                update(f"Writing Spark table {write_table_name}")
                rows = save_as_table(result, write_table_name, spark_session())
                record["spark_table"] = {"name": write_table_name, "rows": rows}
        record["pathways"] = pathways
        write_provenance(output, record)
        print_summary(console, f"Measures {s} to {e}", pathways, ledger, output)
        if lookup is not None:
            _print_lookup(console, lookup, record["commissioners_not_in_lookup"])
        write_record(record)
        if policy.strip().lower() == "none":
            console.print(UNPROTECTED_NOTE)
        if release is not None:
            console.print(said, highlight=False)
    finally:
        ex.close()
