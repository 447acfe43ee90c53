"""Running the parameterised report notebooks (papermill) and what the notebooks call.

:mod:`iaptkit.notebooks.parameters` reads and checks a notebook's parameters and grids;
:mod:`iaptkit.notebooks.runner` executes a notebook or a parameter grid, failures isolated;
:mod:`iaptkit.notebooks.databricks` takes parameters from Databricks widgets; and
:mod:`iaptkit.notebooks.context` is what a notebook calls after its parameters cell.
"""

from __future__ import annotations

from iaptkit.notebooks.databricks import databricks_widgets
from iaptkit.notebooks.parameters import notebook_parameters, validate_parameters
from iaptkit.notebooks.runner import RunResult, RunSummary, run_grid, run_notebook

__all__ = [
    "RunResult",
    "RunSummary",
    "databricks_widgets",
    "notebook_parameters",
    "run_grid",
    "run_notebook",
    "validate_parameters",
]
