"""Run parameterised notebooks with papermill: one run, or a grid of runs, failures isolated.

Parameters are checked against the notebook's ``parameters`` cell before any notebook runs
(:mod:`iaptkit.notebooks.parameters`). Each run writes its executed notebook to the output folder
under a name derived from its parameters, so a grid keeps one executed notebook per parameter
set. A failing run does not stop the others; its error names the notebook, the parameters and the
failing cell (index in the source notebook, first line of its source, and the exception).
Progress is reported through a callback (``progress(label, done, total)``); nothing here prints.

Kernels talk to the runner over IPC (Unix sockets) where the platform has them, so notebooks run
with no network at all (not even loopback) and parallel runs never race for TCP ports; on other
platforms over TCP on loopback, and a missing loopback is one clear error. A kernel that fails to
start (no cell has run yet) is started again, at most :data:`KERNEL_START_ATTEMPTS` times in all;
the failed starts are kept in the run's :attr:`RunResult.retries`.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import sys
import tempfile
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
    run_names,
    validate_parameters,
)

__all__ = [
    "KERNEL_START_ATTEMPTS",
    "ProgressFn",
    "RunResult",
    "RunSummary",
    "kernel_transport",
    "run_grid",
    "run_notebook",
]

#: ``progress(label, done, total)``: called as runs start and finish.
ProgressFn = Callable[[str, int, int], None]

#: Kernel starts tried per run (a start that fails before any cell ran is tried again).
KERNEL_START_ATTEMPTS = 3


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
    attempts
        Kernel starts it took (more than 1 when a kernel failed to start and was started again).
    retries
        Why each earlier start failed (empty when the first start worked).
    """

    notebook: Path
    parameters: Mapping[str, Any]
    output: Path
    status: Literal["ok", "failed"]
    seconds: float
    error: str = ""
    attempts: int = 1
    retries: tuple[str, ...] = ()


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


def kernel_transport() -> str:
    """How the runner talks to its kernels: ``"ipc"`` on POSIX, else ``"tcp"`` (loopback).

    IPC needs no network interface at all (a notebook runs under ``unshare -n``) and cannot race
    with another run for a TCP port. Over TCP the loopback interface must work: when it does not,
    this is a :class:`NotebookError` at once rather than a kernel timeout a minute later.

    Examples
    --------
    >>> kernel_transport() in ("ipc", "tcp")
    True
    """
    if os.name == "posix":
        return "ipc"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
    except OSError as exc:
        raise NotebookError(
            f"notebooks need the loopback network interface (127.0.0.1) to talk to their "
            f"kernel on this platform; binding to it failed ({exc}). Run where loopback is up."
        ) from exc
    return "tcp"


def _no_cell_started(executed: Path) -> bool:
    """True when the executed notebook shows no cell started (the kernel never ran a cell)."""
    import nbformat

    try:
        read: Any = nbformat.read
        nb: Any = read(str(executed), as_version=4)
    except Exception:  # not written at all, or half-written: nothing ran
        return True
    for cell in nb.cells:
        started = cell.get("metadata", {}).get("papermill", {}).get("start_time")
        if cell.cell_type == "code" and (started or cell.get("execution_count") is not None):
            return False
    return True


def _kernel_start_failed(exc: BaseException, executed: Path) -> bool:
    name = type(exc).__name__
    if name in ("NoSuchKernel", "PapermillExecutionError") or isinstance(exc, NotebookError):
        return False
    return _no_cell_started(executed)


def _execute(
    notebook: Path,
    output_dir: Path,
    parameters: Mapping[str, Any],
    kernel_name: str | None,
    name: str,
    attempts: int = KERNEL_START_ATTEMPTS,
) -> RunResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / name
    started = time.perf_counter()
    retries: list[str] = []

    def failed(message: str) -> RunResult:
        return RunResult(
            notebook,
            dict(parameters),
            out,
            "failed",
            time.perf_counter() - started,
            message,
            len(retries) + 1,
            tuple(retries),
        )

    try:
        transport = kernel_transport()
    except NotebookError as exc:
        return failed(f"notebook {notebook} with parameters {dict(parameters)}: {exc.message}")
    while True:
        out.unlink(missing_ok=True)  # a stale executed notebook must not pass for this attempt
        # each kernel its own socket folder: runs started at once never share a socket
        sockets = Path(tempfile.mkdtemp(prefix="iaptkit-kernel-"))
        manager: dict[str, Any] = {"transport": transport}
        if transport == "ipc":
            manager["ip"] = str(sockets / "k")
        try:
            pm.execute_notebook(
                str(notebook),
                str(out),
                parameters=dict(parameters),
                kernel_name=kernel_name or "python3",
                language="python",
                progress_bar=False,
                log_output=False,
                config=Config({"KernelManager": manager}),
            )
        except PapermillExecutionError as exc:
            index = int(exc.cell_index)
            tagged = parameters_cell_index(notebook)
            if tagged is not None and index > tagged + 1:
                index -= 1  # papermill injects a cell after the parameters cell: source index
            first = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "").strip()
            shutil.rmtree(sockets, ignore_errors=True)
            return failed(
                f"notebook {notebook} with parameters {dict(parameters)} failed in cell {index} "
                f"({first!r}): {exc.ename}: {exc.evalue}"
            )
        except Exception as exc:  # kernel died, no such kernel, ...: isolated like a cell failure
            shutil.rmtree(sockets, ignore_errors=True)
            text = f"{type(exc).__name__}: {exc}"
            if _kernel_start_failed(exc, out) and len(retries) + 1 < attempts:
                retries.append(text)
                time.sleep(0.5 * len(retries))
                continue
            hint = ""
            if type(exc).__name__ == "NoSuchKernel":
                hint = (
                    f" (install a kernel for this Python: {sys.executable} -m ipykernel install "
                    "--sys-prefix --name python3)"
                )
            elif retries:
                hint = f" (the kernel failed to start {len(retries) + 1} times)"
            return failed(
                f"notebook {notebook} with parameters {dict(parameters)} could not run: "
                f"{text}{hint}"
            )
        shutil.rmtree(sockets, ignore_errors=True)
        return RunResult(
            notebook,
            dict(parameters),
            out,
            "ok",
            time.perf_counter() - started,
            "",
            len(retries) + 1,
            tuple(retries),
        )


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
    names = run_names(path, typed, notebook_parameters(path))
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
