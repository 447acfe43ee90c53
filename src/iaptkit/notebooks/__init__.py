"""Running the parameterised report notebooks (papermill) and what the notebooks call.

:mod:`iaptkit.notebooks.runner` executes a notebook or a parameter grid and registers what it
made; :mod:`iaptkit.notebooks.context` is what a notebook calls after its parameters cell.
"""

from __future__ import annotations

from iaptkit.notebooks.runner import run_grid, run_notebook

__all__ = ["run_grid", "run_notebook"]
