"""The ``iaptkit`` command line.

Each command is a thin shell over the library: options are parsed here, the work is done by
the module that owns it (imported inside the command so that ``iaptkit --help`` is fast).
User errors (:class:`~iaptkit.errors.IaptkitError`) print one clear message on stderr, without a
traceback, and exit 2 when they refuse bad input (an extract that cannot be read or has a fatal
problem), else 1; anything else is a bug: its traceback and a line asking to report it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from iaptkit.cli.app_release import release_app
from iaptkit.cli.reporting import run_user_command

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    name="iaptkit",
    help=(
        "NHS Talking Therapies (IAPT v2.x) analysis for secure environments: load and validate "
        "extracts, compute the published measures, protect outputs under NHS disclosure-control "
        "policies, and build releases an output checker can trust."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(release_app, name="release")


def _csv_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


# --------------------------------------------------------------------------- data

#: ``--json`` of validate, derive and measures: the command's JSON with its row ledger.
_JsonOut = Annotated[
    Optional[str],
    typer.Option(
        "--json",
        help="Write the result as JSON here ('-' for stdout), with the row ledger "
        "(docs/ledger.md); written on refusal too.",
    ),
]
#: ``--allow-fatal`` of derive and measures.
_AllowFatal = Annotated[
    bool,
    typer.Option(
        "--allow-fatal",
        help="Go on although the extract has a fatal problem (recorded in the provenance).",
    ),
]


@app.command()
def validate(
    extract: Annotated[str, typer.Argument(help="Extract folder, DuckDB file, or Spark database.")],
    json_out: _JsonOut = None,
) -> None:
    """Validate an extract: every problem found, by table, column and rule, and the row ledger.

    Exits 1 when a problem is fatal (a required table or column is missing), 2 when the
    extract cannot be read (a damaged file).
    """
    from iaptkit.cli.data import validate_command

    record: dict[str, Any] = {"command": "validate", "json_out": json_out, "ledger": []}
    code = run_user_command(lambda: validate_command(extract, record=record), record)
    raise typer.Exit(code=code)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the synthetic extract to.")],
    pathways: Annotated[int, typer.Option(help="Number of referrals (pathways).")] = 5000,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2023-04",
    months: Annotated[int, typer.Option(help="Number of monthly submissions.")] = 12,
    providers: Annotated[int, typer.Option(help="Number of providers.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same extract).")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    with_nhs_fields: Annotated[
        bool, typer.Option("--with-nhs-fields", help="Also write the NHS-derived IDS101 fields.")
    ] = False,
    faults: Annotated[
        float, typer.Option(help="Rate of injected data-quality faults (0 to 1).")
    ] = 0.0,
) -> None:
    """Write a realistic synthetic IAPT v2.x extract (never real data)."""
    from iaptkit.cli.data import synth_command

    run_user_command(
        lambda: synth_command(
            out,
            pathways=pathways,
            start=start,
            months=months,
            providers=providers,
            seed=seed,
            fmt=fmt,
            with_nhs_fields=with_nhs_fields,
            faults=faults,
        )
    )


# --------------------------------------------------------------------------- measures

#: ``--memory-limit`` of the commands that derive pathways (DuckDB's memory limit).
_MemoryLimit = Annotated[
    Optional[str],
    typer.Option(
        "--memory-limit",
        help="DuckDB's memory limit, e.g. 8GB (default: 80% of the machine's memory).",
    ),
]


@app.command()
def derive(
    extract: Annotated[str, typer.Argument(help="Extract folder, DuckDB file, or Spark database.")],
    as_at: Annotated[str, typer.Option("--as-at", help="Derive as at this date, YYYY-MM-DD.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="OUT.csv or OUT.parquet.")],
    definitions: Annotated[
        Optional[Path], typer.Option(help="A site's own definitions file (YAML).")
    ] = None,
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark.")] = "duckdb",
    parts: Annotated[
        Optional[int],
        typer.Option(
            help=(
                "Derive and write in this many PathwayID ranges, one after another (less "
                "memory; same file). Default: about a million pathways per part, more if "
                "DuckDB's memory limit needs it."
            )
        ),
    ] = None,
    memory_limit: _MemoryLimit = None,
    json_out: _JsonOut = None,
    allow_fatal: _AllowFatal = False,
) -> None:
    """Derive one row per pathway (docs/measures.md section 1) as at a date.

    Refuses (exit 2) an extract that cannot be read or has a fatal problem.
    """
    from iaptkit.cli.measures import derive_command

    record: dict[str, Any] = {"command": "derive", "json_out": json_out, "ledger": []}
    run_user_command(
        lambda: derive_command(
            extract,
            as_at=as_at,
            output=output,
            definitions=definitions,
            engine=engine,
            parts=parts,
            memory_limit=memory_limit,
            allow_fatal=allow_fatal,
            record=record,
        ),
        record,
    )


@app.command()
def measures(
    extract: Annotated[str, typer.Argument(help="Extract folder, DuckDB file, or Spark database.")],
    start: Annotated[str, typer.Option(help="Period start, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Period end, YYYY-MM-DD.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="OUT.csv or OUT.parquet.")],
    by: Annotated[
        str,
        typer.Option(
            help=(
                "Breakdowns, comma separated; combine with 'x', "
                "e.g. england,provider,provider x age_band."
            )
        ),
    ] = "england",
    use_nhs_flags: Annotated[
        bool, typer.Option("--use-nhs-flags", help="Use the NHS-derived IDS101 fields.")
    ] = False,
    policy: Annotated[
        str, typer.Option(help="Disclosure-control policy id or file, or 'none' (unprotected).")
    ] = "nhs-sde",
    definitions: Annotated[
        Optional[Path], typer.Option(help="A site's own definitions file (YAML).")
    ] = None,
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark.")] = "duckdb",
    parts: Annotated[
        Optional[int],
        typer.Option(
            help=(
                "Derive in this many slices of the pathways, one after another (less memory; "
                "same results). Default: chosen from the extract's size and DuckDB's memory limit."
            )
        ),
    ] = None,
    memory_limit: _MemoryLimit = None,
    families: Annotated[
        str,
        typer.Option(
            help=(
                "Measure families, comma separated, by number or name: 0 outcomes, 1 waits, "
                "2 ended, 3 waiting_list, 4 first_to_second, 5 appointments, "
                "6 referral_sources, 7 sessions, 8 employment_ltc_wsas; 'all' (default) for "
                "every family."
            )
        ),
    ] = "all",
    commissioner_lookup: Annotated[
        Optional[str],
        typer.Option(
            help=(
                "Sub-ICB -> ICB -> region lookup (CSV: lookup_version, sub_icb_code, icb_code, "
                "region_code), or 'synthetic' (demo); needed by the icb and region breakdowns."
            )
        ),
    ] = None,
    json_out: _JsonOut = None,
    allow_fatal: _AllowFatal = False,
    release: Annotated[Optional[Path], typer.Option(help="Also register in this release.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Output name in --release.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace that output in --release.")] = False,
    pathways: Annotated[
        Optional[Path],
        typer.Option(
            "--pathways",
            help=(
                "The .parquet file of 'iaptkit derive --as-at END' for this extract: counted "
                "as it is instead of deriving again (checked against its provenance)."
            ),
        ),
    ] = None,
    write_table: Annotated[
        Optional[str],
        typer.Option(
            "--write-table",
            help="Also write the result as this Spark catalog table, DATABASE.TABLE "
            "(replaced if present; --engine spark only).",
        ),
    ] = None,
) -> None:
    """Compute the published measures for a period, by breakdown.

    Refuses (exit 2) an extract that cannot be read or has a fatal problem.
    """
    from iaptkit.cli.measures import measures_command

    record: dict[str, Any] = {"command": "measures", "json_out": json_out, "ledger": []}
    run_user_command(
        lambda: measures_command(
            extract,
            start=start,
            end=end,
            output=output,
            by=by,
            use_nhs_flags=use_nhs_flags,
            policy=policy,
            definitions=definitions,
            engine=engine,
            parts=parts,
            memory_limit=memory_limit,
            families=families,
            allow_fatal=allow_fatal,
            record=record,
            commissioner_lookup=commissioner_lookup,
            release=release,
            name=name,
            replace=replace,
            pathways_file=pathways,
            write_table_name=write_table,
        ),
        record,
    )


# --------------------------------------------------------------------------- disclosure control


@app.command()
def protect(
    table: Annotated[Path, typer.Argument(help="CSV with one row per inner cell.")],
    dims: Annotated[str, typer.Option(help="Dimension columns, comma separated.")],
    value: Annotated[str, typer.Option(help="The count column.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="OUT.csv")],
    policy: Annotated[str, typer.Option(help="Policy id or a policy YAML file.")] = "nhs-sde",
    margins: Annotated[
        bool, typer.Option("--margins/--no-margins", help="Add all marginal totals.")
    ] = False,
    audit: Annotated[
        Optional[Path], typer.Option(help="Write the audit certificate (JSON) here.")
    ] = None,
    secondary: Annotated[
        str,
        typer.Option(
            help="Secondary suppression: auto (lp up to 2,000 cells; above, modular when its "
            "estimated time fits 30 s or its share of --timeout, else hypercube), lp (few cells "
            "hidden, slow on big tables), modular (hides far less than hypercube, minutes on "
            "tables of thousands of cells) or hypercube (fast, hides more)."
        ),
    ] = "auto",
    cost: Annotated[
        str,
        typer.Option(
            help="What secondary suppression minimises: value (value mass, default), cells "
            "(number of cells) or a weight between 0 and 1 on cells (a mix)."
        ),
    ] = "value",
    timeout: Annotated[
        Optional[float],
        typer.Option(
            min=0,
            help="Seconds the secondary-suppression search may take; it then ends with the "
            "best SAFE pattern so far (never an unsafe one; the audit always runs).",
        ),
    ] = None,
) -> None:
    """Protect a count table: primary and secondary suppression, rounding, audit."""
    from iaptkit.cli.protect import protect_command

    run_user_command(
        lambda: protect_command(
            table,
            dims=_csv_list(dims),
            value=value,
            output=output,
            policy=policy,
            margins=margins,
            audit=audit,
            secondary=secondary,
            cost=cost,
            timeout=timeout,
        )
    )


# --------------------------------------------------------------------------- release


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to check.")],
    policy: Annotated[str, typer.Option(help="Policy id or file.")] = "nhs-sde",
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="Write the findings as JSON here.")
    ] = None,
    allow: Annotated[
        Optional[str],
        typer.Option(help="Extra file types allowed for review, comma separated, e.g. txt,md."),
    ] = None,
) -> None:
    """Check files for export: exit 0 when no file fails (reviews allowed), 1 otherwise."""
    from iaptkit.cli.release import check_command

    code = run_user_command(
        lambda: check_command(paths, policy=policy, json_out=json_out, allow=_csv_list(allow or ""))
    )
    raise typer.Exit(code=code)


# --------------------------------------------------------------------------- notebooks


@app.command("run")
def run_notebooks(
    notebook: Annotated[Path, typer.Argument(help="The notebook to run.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for executed notebooks.")],
    param: Annotated[
        Optional[list[str]], typer.Option("-p", "--param", help="key=value; repeatable.")
    ] = None,
    grid: Annotated[
        Optional[Path], typer.Option(help="YAML file: a list of parameter sets.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Notebooks run at once.")] = 1,
) -> None:
    """Run a parameterised notebook once, or once per parameter set of a grid."""
    from iaptkit.cli.run import run_command

    code = run_user_command(
        lambda: run_command(notebook, output=output, params=param or [], grid=grid, workers=workers)
    )
    raise typer.Exit(code=code)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Demo folder.")] = Path("demo"),
    pathways: Annotated[int, typer.Option(help="Size of the synthetic extract.")] = 20_000,
    workers: Annotated[int, typer.Option(help="Notebook runs at once.")] = 2,
) -> None:
    """The end-to-end demo on synthetic data: extract, validation, notebooks, release."""
    from iaptkit.cli.demo import demo_command

    code = run_user_command(lambda: demo_command(out, pathways=pathways, workers=workers))
    raise typer.Exit(code=code)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Show the iaptkit version and exit.")
    ] = False,
) -> None:
    if version:
        from iaptkit._version import __version__

        typer.echo(f"iaptkit {__version__}")
        raise typer.Exit()


def main() -> None:
    """Entry point of the ``iaptkit`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
