"""Run parameterised notebooks with papermill: one run, or a grid of runs, failures isolated.

Parameters are checked against the notebook's ``parameters`` cell before any notebook runs
(:mod:`iaptkit.notebooks.parameters`). Each run writes its executed notebook to the output folder
under a name derived from its parameters, so a grid keeps one executed notebook per parameter
set. A failing run does not stop the others; its error names the notebook, the parameters and the
failing cell (index in the source notebook, first line of its source, and the exception).
Progress is reported through a callback (``progress(label, done, total)``); nothing here prints.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iaptkit.errors import ConfigError, NotebookError
from iaptkit.notebooks.parameters import (
    notebook_parameters,
    output_name,
    parameters_cell_index,
    validate_parameters,
)

__all__ = [
    "ProgressFn",
    "RunResult",
    "RunSummary",
    "run_grid",
    "run_notebook",
]

#: ``progress(label, done, total)``: called as runs start and finish.
ProgressFn = Callable[[str, int, int], None]


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

    def __repr__(self) -> str:
        """One line: runs, failures and the first failed run's name."""
        first = f"; first failed: {self.failed[0].output.name}" if self.failed else ""
        return f"<RunSummary: {len(self.results)} runs, {len(self.failed)} failed{first}>"

    @property
    def failed(self) -> tuple[RunResult, ...]:
        """The runs that failed."""
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return not self.failed


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
        tagged = parameters_cell_index(notebook)
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
