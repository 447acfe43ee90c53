"""``iaptkit run``: a notebook once or once per parameter set of a grid; progress and summary.

The work is :func:`iaptkit.notebooks.runner.run_grid`; this module parses the command line's
``-p key=value`` items and the grid file, shows a progress bar while the runs go, and prints one
summary table and every failure's message (on stderr).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iaptkit.errors import ConfigError
from iaptkit.notebooks.parameters import (
    notebook_parameters,
    parse_param_args,
    read_grid,
    run_names,
    validate_parameters,
)
from iaptkit.notebooks.runner import RunSummary, run_grid

__all__ = ["print_summary", "run_command"]


def print_summary(console: Console, notebook: Path, summary: RunSummary, output: Path) -> None:
    """Print a grid's runs as one table, then every failure's message.

    Parameters
    ----------
    console
        Where to print (stderr for the command line).
    notebook
        The source notebook (named in the title).
    summary
        The runs, from :func:`~iaptkit.notebooks.runner.run_grid`.
    output
        The folder of the executed notebooks (named when a run failed).
    """
    table = Table(title=f"{notebook.name}: {len(summary.results)} run(s)")
    for col in ("#", "parameters", "status", "seconds", "kernel starts", "executed notebook"):
        table.add_column(col)
    for i, r in enumerate(summary.results, 1):
        status = "[green]ok[/green]" if r.status == "ok" else "[bold red]failed[/bold red]"
        params_text = ", ".join(f"{k}={v}" for k, v in r.parameters.items()) or "(defaults)"
        table.add_row(
            str(i), escape(params_text), status, f"{r.seconds:.1f}", str(r.attempts), r.output.name
        )
    console.print(table)
    for i, r in enumerate(summary.results, 1):
        for n, why in enumerate(r.retries, 1):
            line = f"run {i}: kernel start {n} failed, started again: {why}"
            console.print(f"[yellow]retried:[/] {escape(line)}", soft_wrap=True, highlight=False)
    for r in summary.failed:
        console.print(f"[bold red]failed:[/] {escape(r.error)}", soft_wrap=True, highlight=False)
    if summary.failed:
        console.print(f"[bold red]{len(summary.failed)} of {len(summary.results)} runs failed[/]")
        console.print(f"executed notebooks (failed ones up to the failing cell) in {output}")
        console.print(
            "outputs a failed run registered stay 'fail' in its release (run not finished) "
            "and are never exported; run it again once fixed",
            soft_wrap=True,
            highlight=False,
        )


def run_command(
    notebook: Path,
    *,
    output: Path,
    params: Sequence[str] = (),
    grid: Path | None = None,
    workers: int = 1,
) -> int:
    """``iaptkit run NOTEBOOK [-p key=value ...] [--grid GRID.yaml] [--workers N] -o OUT_DIR``.

    Parameters
    ----------
    notebook
        The parameterised notebook.
    output
        Folder for the executed notebooks (one per parameter set).
    params
        ``key=value`` items, applied to every run (a grid's sets override them).
    grid
        A YAML grid (:func:`~iaptkit.notebooks.parameters.read_grid`); ``None``: one run.
    workers
        Runs at once.

    Returns
    -------
    int
        The exit code: 0 when every run succeeded, 1 when any failed. Progress and a summary
        table go to stderr; executed notebooks to ``output``.

    Raises
    ------
    ConfigError, NotebookError
        A bad ``-p`` item, grid or parameter: found before the first run.
    """
    console = Console(stderr=True)
    base = parse_param_args(params)
    sets = [{**base, **g} for g in read_grid(grid)] if grid else [base]
    if not sets:
        raise ConfigError(f"grid {grid}: expected at least one parameter set; found none")
    # Validate everything (CLI text parsed by type) and name every run before the first run.
    typed = [validate_parameters(notebook, s, from_text=True) for s in sets]
    run_names(notebook, typed, notebook_parameters(notebook))  # refuses repeated sets
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(f"running {notebook.name}", total=len(typed))

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"{notebook.name}: {label}")

        summary = run_grid(notebook, typed, output, workers, progress=progress)
    print_summary(console, notebook, summary, output)
    return 1 if summary.failed else 0
