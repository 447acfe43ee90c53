"""Notebook parameters: read from the ``parameters`` cell, checked, typed, and grids of them.

A notebook declares its parameters in ONE code cell tagged ``parameters`` (papermill's
convention): simple assignments of literal defaults, e.g. ``start = "2023-04-01"``. Parameters
given to a run are checked against that cell *before* any notebook runs: an unknown name, or a
value whose type does not match the default's, is a :class:`~iaptkit.errors.NotebookError` naming
the notebook and the parameter. Values given as text (``-p months=3`` on the command line, a
Databricks widget) are parsed by the default's type. A grid (YAML) is a list of parameter sets;
each run's executed notebook is named from its parameters (:func:`output_name`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from iaptkit.errors import ConfigError, NotebookError

__all__ = [
    "load_notebook",
    "notebook_parameters",
    "output_name",
    "parameters_cell_index",
    "parse_param_args",
    "parse_text_value",
    "read_grid",
    "run_names",
    "validate_parameters",
]

_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


def load_notebook(path: Path) -> Any:
    """Read a notebook (nbformat 4); a missing or unreadable file is a :class:`NotebookError`.

    Parameters
    ----------
    path
        An ``.ipynb`` file.

    Returns
    -------
    nbformat.NotebookNode
        The notebook.
    """
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
    nb = load_notebook(path)
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


def parse_text_value(name: str, text: str, default: Any, where: str) -> Any:
    """Parse a parameter given as text (command line, widget) by the type of its default.

    Parameters
    ----------
    name
        The parameter (for the error message).
    text
        The value as text.
    default
        The notebook's default: its type decides how ``text`` is read (bool accepts
        true/false, yes/no, 1/0, on/off; list and dict are Python literals).
    where
        The notebook (for the error message).

    Returns
    -------
    Any
        The typed value.

    Raises
    ------
    NotebookError
        The text does not read as the default's type.

    Examples
    --------
    >>> parse_text_value("months", "6", 3, "nb.ipynb"), parse_text_value("nhs", "no", True, "nb")
    (6, False)
    """
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
            value = parse_text_value(name, value, default, str(path))
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

    Parameters
    ----------
    params
        ``key=value`` items (the value may contain ``=``, and may be empty).

    Returns
    -------
    dict
        Key -> value text (typed later by :func:`validate_parameters` with ``from_text=True``).

    Raises
    ------
    ConfigError
        An item without ``=`` or without a key.

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
    keep: Collection[str] = (),
) -> str:
    """The executed notebook's file name, derived from the source name and the parameters.

    Parameters equal to the notebook's ``defaults`` are left out of the name unless named in
    ``keep`` (the parameters that vary across a grid), and values that are paths contribute
    their last component only, so names stay short.

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
        at_default = defaults is not None and key in defaults and defaults[key] == value
        if at_default and key not in keep:
            continue
        text = str(value)
        if "/" in text or "\\" in text:
            text = Path(text).name or text
        text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:40] or "none"
        parts.append(f"{key}-{text}")
    return "__".join(parts) + ".ipynb"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def run_names(
    notebook: str | Path,
    sets: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any],
) -> list[str]:
    """One executed-notebook name per parameter set of a grid, named by what varies.

    Every parameter whose value differs across the grid is in every name (even where a run
    leaves it at its default), and so is every parameter set away from its default. Sets that
    are the same once defaults are filled in are refused: their runs would overwrite each
    other's outputs. Distinct sets whose names would still coincide (values that differ only in
    characters a file name cannot hold, or in a path's folders) get a short hash of the set.

    Parameters
    ----------
    notebook
        The source notebook (its stem starts every name).
    sets
        The grid's parameter sets, validated.
    defaults
        The notebook's defaults (:func:`notebook_parameters`).

    Returns
    -------
    list of str
        Names, in the order of ``sets``, all different.

    Raises
    ------
    NotebookError
        Two sets are the same parameters (naming both runs).

    Examples
    --------
    >>> run_names("02.ipynb", [{"start": "2023-04-01", "end": "2023-06-30"},
    ...                        {"start": "2023-07-01", "end": "2023-09-30"}],
    ...           {"start": "2023-04-01", "end": "2024-03-31"})
    ['02__end-2023-06-30__start-2023-04-01.ipynb', '02__end-2023-09-30__start-2023-07-01.ipynb']
    >>> run_names("nb.ipynb", [{"n": 1}, {}], {"n": 1})
    Traceback (most recent call last):
    ...
    iaptkit.errors.NotebookError: notebook nb.ipynb: the grid repeats a parameter set: ...
    """
    full = [{**defaults, **s} for s in sets]
    seen: dict[str, int] = {}
    for i, params in enumerate(full):
        key = _canonical(params)
        if key in seen:
            raise NotebookError(
                f"notebook {notebook}: the grid repeats a parameter set: runs {seen[key] + 1} "
                f"and {i + 1} are both {dict(sets[i]) or 'the defaults'} (defaults filled in); "
                "expected every set to differ, or their outputs would overwrite each other"
            )
        seen[key] = i
    keys = {k for params in full for k in params}
    varying = {k for k in keys if len({_canonical(p.get(k)) for p in full}) > 1}
    names = [
        output_name(notebook, {**s, **{k: full[i].get(k) for k in varying}}, defaults, keep=varying)
        for i, s in enumerate(sets)
    ]
    clashing = {n for n in names if names.count(n) > 1}
    for i, name in enumerate(names):
        if name in clashing:
            digest = hashlib.sha256(_canonical(full[i]).encode()).hexdigest()[:8]
            names[i] = f"{name.removesuffix('.ipynb')}__{digest}.ipynb"
    return names


def parameters_cell_index(path: Path) -> int | None:
    """Index of the ``parameters``-tagged cell in a notebook.

    Parameters
    ----------
    path
        The source notebook.

    Returns
    -------
    int or None
        The cell's index; ``None`` when there is none or the notebook cannot be read.
    """
    try:
        nb = load_notebook(path)
    except NotebookError:
        return None
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def read_grid(grid: Path) -> list[dict[str, Any]]:
    """Read a parameter grid: a YAML list of parameter sets, or a mapping whose ``runs:`` is one.

    Parameters
    ----------
    grid
        The YAML file (e.g. ``notebooks/grids/outcomes_by_provider.yaml``).

    Returns
    -------
    list of dict
        One mapping per run; YAML dates become ISO text (``2023-04-01``).

    Raises
    ------
    ConfigError
        The file is missing, not YAML, or not a list of mappings.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "grid.yaml"
    >>> _ = path.write_text("runs:\\n  - {start: 2023-04-01}\\n  - {provider: R1A}\\n")
    >>> read_grid(path)
    [{'start': '2023-04-01'}, {'provider': 'R1A'}]
    """
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
