"""Run parameterised notebooks with papermill: one run, or a grid of runs, failures isolated.

A notebook declares its parameters in ONE code cell tagged ``parameters`` (papermill's
convention): simple assignments of literal defaults, e.g. ``start = "2023-04-01"``. Parameters
given to a run are checked against that cell *before* any notebook runs: an unknown name, or a
value whose type does not match the default's, is a :class:`~iaptkit.errors.NotebookError` naming
the notebook and the parameter. Values given as text (``-p months=3`` on the command line) are
parsed by the default's type.

Each run writes its executed notebook to the output folder under a name derived from its
parameters, so a grid keeps one executed notebook per parameter set. A failing run does not stop
the others; its error names the notebook, the parameters and the failing cell (index in the
source notebook, first line of its source, and the exception).
"""

from __future__ import annotations

import ast
import multiprocessing
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iaptkit.errors import ConfigError, NotebookError

__all__ = [
    "RunResult",
    "RunSummary",
    "databricks_widgets",
    "notebook_parameters",
    "output_name",
    "parse_param_args",
    "run_command",
    "run_grid",
    "run_notebook",
    "validate_parameters",
]

ProgressFn = Callable[[str, int, int], None]
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


@dataclass(frozen=True)
class RunResult:
    """The outcome of one notebook run.

    Parameters
    ----------
    notebook
        The source notebook.
    parameters
        The parameters the run was given (validated, typed).
    output
        The executed notebook (written even when the run fails, up to the failing cell).
    status
        ``"ok"`` or ``"failed"``.
    seconds
        Wall time of the run.
    error
        For a failed run: notebook, parameters, failing cell and exception, in one message.
    """

    notebook: Path
    parameters: Mapping[str, Any]
    output: Path
    status: Literal["ok", "failed"]
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class RunSummary:
    """All runs of a grid, in the order of the grid."""

    results: tuple[RunResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[RunResult, ...]:
        """The runs that failed."""
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return not self.failed


# --------------------------------------------------------------------------- parameters


def _load_notebook(path: Path) -> Any:
    import nbformat

    if not path.is_file():
        raise NotebookError(f"notebook {path}: expected an .ipynb file; found nothing there")
    try:
        read: Any = nbformat.read
        return read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated exception types
        raise NotebookError(f"notebook {path}: cannot be read as a notebook ({exc})") from exc


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters of a notebook and their defaults, from its ``parameters``-tagged cell.

    Parameters
    ----------
    path
        An ``.ipynb`` file with exactly one code cell tagged ``parameters``.

    Returns
    -------
    dict
        Name -> default value (a Python literal: str, int, float, bool, None, list, dict).

    Notes
    -----
    papermill's convention for parameterised notebooks (papermill documentation, "Parameterize").
    Defaults must be literals so that parameters can be checked before anything runs.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell('start = "2023-04-01"\\nmonths: int = 3')
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells.append(cell)
    >>> p = Path(tempfile.mkdtemp()) / "nb.ipynb"
    >>> nbformat.write(nb, str(p))
    >>> notebook_parameters(p)
    {'start': '2023-04-01', 'months': 3}
    """
    path = Path(path)
    nb = _load_notebook(path)
    cells = [
        (i, c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(cells) != 1:
        raise NotebookError(
            f"notebook {path}: expected exactly one code cell tagged 'parameters'; "
            f"found {len(cells)}"
        )
    index, cell = cells[0]
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise NotebookError(
            f"notebook {path}: the parameters cell (cell {index}) is not valid Python: {exc}"
        ) from exc
    params: dict[str, Any] = {}
    for node in tree.body:
        target: ast.expr | None
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or value is None:
            continue
        try:
            params[target.id] = ast.literal_eval(value)
        except ValueError as exc:
            raise NotebookError(
                f"notebook {path}: parameter {target.id!r} (cell {index}) must have a literal "
                f"default; found {ast.unparse(value)!r}"
            ) from exc
    return params


def _parse_text(name: str, text: str, default: Any, where: str) -> Any:
    """Parse a command-line value by the type of the default."""
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str):
            return text
        if default is None:
            return text
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise NotebookError(
            f"notebook {where}: parameter {name!r} expects {type(default).__name__} "
            f"(default {default!r}); found {text!r}"
        ) from exc
    if not isinstance(value, type(default)):
        raise NotebookError(
            f"notebook {where}: parameter {name!r} expects {type(default).__name__} "
            f"(default {default!r}); found {text!r}"
        )
    return value


def _type_ok(value: Any, default: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def validate_parameters(
    path: str | Path, parameters: Mapping[str, Any], *, from_text: bool = False
) -> dict[str, Any]:
    """Check parameters against a notebook's ``parameters`` cell; return them typed.

    Parameters
    ----------
    path
        The notebook.
    parameters
        Name -> value. With ``from_text=True`` string values are parsed by the default's type.
    from_text
        The values came from a command line (``key=value`` text).

    Returns
    -------
    dict
        The parameters, typed like their defaults (ints accepted for float defaults).

    Raises
    ------
    NotebookError
        An unknown name, or a value of the wrong type; the message names notebook and parameter.

    Notes
    -----
    The check runs before any notebook is executed, so a bad grid fails fast.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("months = 3\\nrate = 0.5")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells.append(cell)
    >>> p = Path(tempfile.mkdtemp()) / "nb.ipynb"
    >>> nbformat.write(nb, str(p))
    >>> validate_parameters(p, {"months": "6", "rate": "1"}, from_text=True)
    {'months': 6, 'rate': 1.0}
    >>> validate_parameters(p, {"mnths": 6})
    Traceback (most recent call last):
    ...
    iaptkit.errors.NotebookError: notebook ...nb.ipynb: unknown parameter 'mnths'; ...
    """
    path = Path(path)
    defaults = notebook_parameters(path)
    typed: dict[str, Any] = {}
    for name, value in parameters.items():
        if name not in defaults:
            raise NotebookError(
                f"notebook {path}: unknown parameter {name!r}; expected one of {sorted(defaults)}"
            )
        default = defaults[name]
        if from_text and isinstance(value, str):
            value = _parse_text(name, value, default, str(path))
        if not _type_ok(value, default):
            raise NotebookError(
                f"notebook {path}: parameter {name!r} expects {type(default).__name__} "
                f"(default {default!r}); found {type(value).__name__} {value!r}"
            )
        if isinstance(default, float) and isinstance(value, int):
            value = float(value)
        typed[name] = value
    return typed


def parse_param_args(params: Sequence[str]) -> dict[str, str]:
    """Parse ``["key=value", ...]`` from the command line.

    Examples
    --------
    >>> parse_param_args(["start=2023-04-01", "provider=R1A"])
    {'start': '2023-04-01', 'provider': 'R1A'}
    """
    out: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"parameter {item!r}: expected key=value (e.g. -p start=2023-04-01)")
        out[key.strip()] = value
    return out


def output_name(
    notebook: str | Path,
    parameters: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> str:
    """The executed notebook's file name, derived from the source name and the parameters.

    Parameters equal to the notebook's ``defaults`` are left out of the name, and values that
    are paths contribute their last component only, so names stay short.

    Examples
    --------
    >>> output_name("notebooks/02_outcomes.ipynb", {"provider": "R1A", "start": "2023-04-01"})
    '02_outcomes__provider-R1A__start-2023-04-01.ipynb'
    >>> output_name("nb.ipynb", {"extract": "/data/x/extract", "start": "2023-04-01"},
    ...             defaults={"extract": "", "start": "2023-04-01"})
    'nb__extract-extract.ipynb'
    >>> output_name("nb.ipynb", {})
    'nb.ipynb'
    """
    stem = Path(notebook).stem
    parts = [stem]
    for key in sorted(parameters):
        value = parameters[key]
        if defaults is not None and key in defaults and defaults[key] == value:
            continue
        text = str(value)
        if "/" in text or "\\" in text:
            text = Path(text).name or text
        text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:40] or "none"
        parts.append(f"{key}-{text}")
    return "__".join(parts) + ".ipynb"


# --------------------------------------------------------------------------- running


def _parameters_cell_index(path: Path) -> int | None:
    """Index of the ``parameters``-tagged cell in the source notebook."""
    try:
        nb = _load_notebook(path)
    except NotebookError:
        return None
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def _execute(
    notebook: Path,
    output_dir: Path,
    parameters: Mapping[str, Any],
    kernel_name: str | None,
    name: str,
) -> RunResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / name
    started = time.perf_counter()
    try:
        pm.execute_notebook(
            str(notebook),
            str(out),
            parameters=dict(parameters),
            kernel_name=kernel_name or "python3",
            language="python",
            progress_bar=False,
            log_output=False,
        )
    except PapermillExecutionError as exc:
        index = int(exc.cell_index)
        tagged = _parameters_cell_index(notebook)
        if tagged is not None and index > tagged + 1:
            index -= 1  # papermill injects a cell after the parameters cell: source index
        first = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "").strip()
        message = (
            f"notebook {notebook} with parameters {dict(parameters)} failed in cell {index} "
            f"({first!r}): {exc.ename}: {exc.evalue}"
        )
        return RunResult(
            notebook, dict(parameters), out, "failed", time.perf_counter() - started, message
        )
    except Exception as exc:  # kernel died, no such kernel, ...: isolated like a cell failure
        hint = ""
        if type(exc).__name__ == "NoSuchKernel":
            hint = (
                f" (install a kernel for this Python: {sys.executable} -m ipykernel install "
                "--sys-prefix --name python3)"
            )
        message = (
            f"notebook {notebook} with parameters {dict(parameters)} could not run: "
            f"{type(exc).__name__}: {exc}{hint}"
        )
        return RunResult(
            notebook, dict(parameters), out, "failed", time.perf_counter() - started, message
        )
    return RunResult(notebook, dict(parameters), out, "ok", time.perf_counter() - started)


def run_notebook(
    path: str | Path,
    output_dir: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str | None = None,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Run one notebook with papermill; raise :class:`NotebookError` if it fails.

    Parameters
    ----------
    path
        The notebook.
    output_dir
        Folder for the executed notebook (created if needed).
    parameters
        Name -> value, checked against the ``parameters`` cell first.
    kernel_name
        Jupyter kernel; default ``python3`` (the Python running iaptkit, through ipykernel).
    progress
        Called as ``progress(label, done, total)`` before and after the run.

    Returns
    -------
    RunResult
        With ``status == "ok"``.

    Notes
    -----
    Executed with papermill (``execute_notebook``) in the current working directory, so
    relative paths given as parameters mean what they mean to the caller.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("n = 1")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells += [cell, nbformat.v4.new_code_cell("print(n * 2)")]
    >>> folder = Path(tempfile.mkdtemp())
    >>> nbformat.write(nb, str(folder / "nb.ipynb"))
    >>> run_notebook(folder / "nb.ipynb", folder / "out", {"n": 21}).output.name
    'nb__n-21.ipynb'
    """
    path = Path(path).resolve()
    typed = validate_parameters(path, parameters or {})
    label = output_name(path, typed, notebook_parameters(path))
    if progress:
        progress(label, 0, 1)
    result = _execute(path, Path(output_dir).resolve(), typed, kernel_name, label)
    if progress:
        progress(label, 1, 1)
    if result.status != "ok":
        raise NotebookError(result.error)
    return result


def run_grid(
    path: str | Path,
    grid: Sequence[Mapping[str, Any]],
    output_dir: str | Path,
    workers: int = 1,
    *,
    kernel_name: str | None = None,
    progress: ProgressFn | None = None,
    from_text: bool = False,
) -> RunSummary:
    """Run a notebook once per parameter set; every set is validated before any run.

    Parameters
    ----------
    path
        The notebook.
    grid
        A list of parameter sets (name -> value).
    output_dir
        Folder for the executed notebooks (one per set, named from its parameters).
    workers
        Runs at once (worker processes, each driving its own kernel).
    kernel_name
        Jupyter kernel; default ``python3``.
    progress
        Called as ``progress(label, done, total)`` as runs finish.
    from_text
        Parse string values by the defaults' types (command-line values).

    Returns
    -------
    RunSummary
        One :class:`RunResult` per set, in grid order; failures do not stop other runs.

    Notes
    -----
    papermill executes each run; parameters follow the notebook's ``parameters`` cell.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("n = 1")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells += [cell, nbformat.v4.new_code_cell("assert n > 0, 'n must be positive'")]
    >>> folder = Path(tempfile.mkdtemp())
    >>> nbformat.write(nb, str(folder / "nb.ipynb"))
    >>> summary = run_grid(folder / "nb.ipynb", [{"n": 2}, {"n": -1}], folder / "out")
    >>> [r.status for r in summary.results]
    ['ok', 'failed']
    >>> "failed in cell 1 (\\"assert n > 0, 'n must be positive'\\")" in summary.results[1].error
    True
    """
    path = Path(path).resolve()
    output_dir = Path(output_dir).resolve()
    if workers < 1:
        raise ConfigError(f"workers: expected a whole number >= 1; found {workers}")
    typed = [validate_parameters(path, p, from_text=from_text) for p in grid]
    defaults = notebook_parameters(path)
    names = [output_name(path, p, defaults) for p in typed]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise NotebookError(
            f"notebook {path}: the grid repeats parameter sets (same output name): {dupes}"
        )
    total = len(typed)
    done = 0
    results: list[RunResult | None] = [None] * total

    def one(i: int) -> RunResult:
        return _execute(path, Path(output_dir), typed[i], kernel_name, names[i])

    if progress:
        progress(path.name, 0, total)
    if workers == 1:
        for i in range(total):
            results[i] = one(i)
            done += 1
            if progress:
                progress(names[i], done, total)
    else:
        # Processes, not threads: papermill changes the working directory of its process.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {
                pool.submit(_execute, path, Path(output_dir), typed[i], kernel_name, names[i]): i
                for i in range(total)
            }
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                done += 1
                if progress:
                    progress(names[i], done, total)
    return RunSummary(tuple(r for r in results if r is not None))


# --------------------------------------------------------------------------- CLI


def _read_grid(grid: Path) -> list[dict[str, Any]]:
    import yaml

    if not grid.is_file():
        raise ConfigError(f"grid {grid}: expected a YAML file; found nothing there")
    try:
        data = yaml.safe_load(grid.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"grid {grid}: not valid YAML ({exc})") from exc
    if isinstance(data, dict) and "runs" in data:
        data = data["runs"]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ConfigError(
            f"grid {grid}: expected a list of parameter sets (mappings), or a mapping with "
            f"'runs:' holding one; found {type(data).__name__}"
        )
    return [
        {str(k): (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}
        for d in data
    ]


def run_command(
    notebook: Path,
    *,
    output: Path,
    params: Sequence[str] = (),
    grid: Path | None = None,
    workers: int = 1,
) -> int:
    """``iaptkit run NOTEBOOK [-p key=value ...] [--grid GRID.yaml] [--workers N] -o OUT_DIR``.

    Returns the exit code: 0 when every run succeeded, 1 when any failed. Progress and a summary
    table go to stderr; executed notebooks to ``OUT_DIR``.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    console = Console(stderr=True)
    base = parse_param_args(params)
    sets = [{**base, **g} for g in _read_grid(grid)] if grid else [base]
    if not sets:
        raise ConfigError(f"grid {grid}: expected at least one parameter set; found none")
    # Validate everything (CLI text parsed by type) before the first run.
    typed = [validate_parameters(notebook, s, from_text=True) for s in sets]
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

    table = Table(title=f"{notebook.name}: {len(summary.results)} run(s)")
    for col in ("#", "parameters", "status", "seconds", "executed notebook"):
        table.add_column(col)
    for i, r in enumerate(summary.results, 1):
        status = "[green]ok[/green]" if r.status == "ok" else "[bold red]failed[/bold red]"
        params_text = ", ".join(f"{k}={v}" for k, v in r.parameters.items()) or "(defaults)"
        table.add_row(str(i), escape(params_text), status, f"{r.seconds:.1f}", r.output.name)
    console.print(table)
    for r in summary.failed:
        console.print(f"[bold red]failed:[/] {escape(r.error)}", soft_wrap=True, highlight=False)
    if summary.failed:
        console.print(f"[bold red]{len(summary.failed)} of {len(summary.results)} runs failed[/]")
        console.print(f"executed notebooks (failed ones up to the failing cell) in {output}")
        return 1
    return 0


# --------------------------------------------------------------------------- Databricks


def databricks_widgets(defaults: Mapping[str, Any], dbutils: Any = None) -> dict[str, Any]:
    """Parameters from Databricks widgets, typed like ``defaults``; a no-op elsewhere.

    Parameters
    ----------
    defaults
        The notebook's parameters (as set by its ``parameters`` cell or papermill).
    dbutils
        Databricks' ``dbutils``; ``None``: looked up in the IPython namespace (absent outside
        Databricks, in which case ``defaults`` are returned unchanged).

    Returns
    -------
    dict
        Each parameter from its text widget (created with the default when missing), parsed by
        the default's type; an empty widget keeps the default.

    Notes
    -----
    Databricks notebook widgets (``dbutils.widgets.text`` / ``get``) carry job parameters.

    Examples
    --------
    >>> databricks_widgets({"months": 3})
    {'months': 3}
    """
    if dbutils is None:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover - ipykernel brings IPython
            shell = None
        dbutils = shell.user_ns.get("dbutils") if shell is not None else None
    if dbutils is None:
        return dict(defaults)
    out: dict[str, Any] = {}
    for name, default in defaults.items():
        text_default = "" if default is None else str(default)
        try:
            dbutils.widgets.get(name)
        except Exception:  # Databricks raises when a widget does not exist yet
            dbutils.widgets.text(name, text_default)
        text = str(dbutils.widgets.get(name))
        if text == "" and default is not None and not isinstance(default, str):
            out[name] = default
        else:
            out[name] = _parse_text(name, text, default, "(databricks widgets)")
    return out
