"""Notebook parameters from Databricks widgets, so one notebook runs as a Databricks job too.

On Databricks a job passes its parameters as notebook widgets (``dbutils.widgets``); elsewhere
(papermill, Jupyter) there are none and the ``parameters`` cell's values stand.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from iaptkit.notebooks.parameters import parse_text_value

__all__ = ["databricks_widgets"]


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
        # Only a running IPython kernel (a notebook) can hold dbutils: look, never import one.
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
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
            out[name] = parse_text_value(name, text, default, "(databricks widgets)")
    return out
