"""``results.json`` in the structure ACRO writes, so the SACRO viewer can open an export.

ACRO (AI-SDC/ACRO, ``acro/record.py``, ``Records.finalise_json``) writes::

    {"version": ..., "results": {uid: {"uid", "status", "type", "properties", "files":
     [{"name", "sdc": {"summary": {...}, "cells": {...}}}], "outcome", "command", "summary",
     "timestamp", "comments", "exception"}}}

with ``sdc.summary`` holding ``suppressed`` and per-check counts (``negative``, ``missing``,
``threshold``, ``p-ratio``, ``nk-rule``, ``all-values-are-same``) and ``sdc.cells`` the
``[row, column]`` positions per check, and ``outcome`` a table-shaped ``{column: {row: text}}``.
For iaptkit's tables the positions and the outcome refer to the exported CSV (the long
export view: dims, ``value``, ``policy_id``, ``policy_version``).

iaptkit fills these from its own register. Primary and secondary suppressions are listed
together under ``threshold`` (the export must not tell them apart: docs/disclosure-control.md, "The
attacker"); ``properties`` say so. Only exported outputs appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from iaptkit._version import __version__
from iaptkit.release.outputs import Output

__all__ = [
    "ACRO_CHECKS",
    "ACRO_RECORD_KEYS",
    "ACRO_VERSION",
    "FIGURE_SUFFIX",
    "acro_record",
    "results_json",
    "table_sdc",
]

ACRO_CHECKS: tuple[str, ...] = (
    "negative",
    "missing",
    "threshold",
    "p-ratio",
    "nk-rule",
    "all-values-are-same",
)
#: the ACRO version whose ``results.json`` iaptkit writes (``load_records`` requires it exactly)
ACRO_VERSION = "1.0.2"
ACRO_RECORD_KEYS: tuple[str, ...] = (
    "uid",
    "status",
    "type",
    "properties",
    "files",
    "fair",
    "outcome",
    "command",
    "summary",
    "timestamp",
    "comments",
    "exception",
)
_TYPES = {"table": "table", "model": "regression"}
FIGURE_SUFFIX = "__figure"


def wide_view(long: pd.DataFrame, dims: Sequence[str]) -> pd.DataFrame:
    """The published long view (dims + ``value``) as a wide table of strings.

    The last dim becomes the columns, the others the rows; one dim gives one column ``value``.

    Examples
    --------
    >>> long = pd.DataFrame({"p": ["A", "A", "B", "B"], "o": ["X", "Y", "X", "Y"],
    ...                      "value": ["25", "*", "10", "30"]})
    >>> wide_view(long, ["p", "o"]).loc["A", "Y"]
    '*'
    """
    dims = [d for d in dims if d in long.columns]
    data = long.copy()
    data["value"] = data["value"].astype(str)
    if len(dims) == 0:
        return data[["value"]]
    if len(dims) == 1:
        return data.set_index(dims[0])[["value"]]
    rows, col = dims[:-1], dims[-1]
    order_rows = list(dict.fromkeys(map(tuple, data[rows].astype(str).to_numpy().tolist())))
    order_cols = list(dict.fromkeys(data[col].astype(str)))
    data[[*rows, col]] = data[[*rows, col]].astype(str)
    wide = data.pivot_table(
        index=rows, columns=col, values="value", aggfunc="first", sort=False
    ).fillna("")
    wide = wide.reindex(columns=order_cols)
    if len(rows) == 1:
        wide = wide.reindex([r[0] for r in order_rows])
    wide.columns.name = col
    return wide


def table_sdc(wide: pd.DataFrame) -> dict[str, Any]:
    """ACRO's ``sdc`` dict for a published table: ``[row, column]`` of each ``*`` cell.

    The positions index the given frame (data rows and columns from 0), all suppressed cells
    listed under ``threshold`` (primary and secondary are not told apart).

    Examples
    --------
    >>> wide = pd.DataFrame({"X": ["25", "*"], "Y": ["10", "30"]}, index=["A", "B"])
    >>> sdc = table_sdc(wide)
    >>> sdc["summary"]["threshold"], sdc["cells"]["threshold"]
    (1, [[1, 0]])
    """
    stars = [
        [r, c]
        for r in range(wide.shape[0])
        for c in range(wide.shape[1])
        if str(wide.iat[r, c]).strip() == "*"
    ]
    summary: dict[str, Any] = {"suppressed": bool(stars)}
    summary.update({check: 0 for check in ACRO_CHECKS})
    summary["threshold"] = len(stars)
    cells: dict[str, list[list[int]]] = {check: [] for check in ACRO_CHECKS}
    cells["threshold"] = stars
    return {"summary": summary, "cells": cells}


def _outcome(wide: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {
        str(col): {
            str(row): ("threshold; " if str(v).strip() == "*" else "ok")
            for row, v in enumerate(wide[col])
        }
        for col in wide.columns
    }


def acro_record(output: Output, export_dir: Path, files: Sequence[str]) -> dict[str, Any]:
    """One ACRO record for an exported output (``files``: names inside ``export_dir``)."""
    file_entries: list[dict[str, Any]] = []
    outcome: dict[str, dict[str, str]] = {}
    for name in files:
        sdc: dict[str, Any] = {}
        if name.endswith(".csv") and output.kind in ("table", "figure"):
            # ACRO and the SACRO viewer read the first CSV column as the index: positions count
            # data rows from 0 and the columns after the first
            table = pd.read_csv(export_dir / name, dtype=str, keep_default_na=False)
            table = table.set_index(table.columns[0]) if table.shape[1] > 1 else table
            sdc = table_sdc(table)
            outcome = outcome or _outcome(table)
        file_entries.append({"name": name, "sdc": sdc})
    properties: dict[str, Any] = {
        "method": output.kind,
        "name": output.name,
        "description": output.description,
        "population": output.population,
        "denominators": list(output.denominators),
        "policy_id": output.policy_id,
        "policy_version": output.policy_version,
        "definitions_version": output.definitions_version,
        "made_by": output.made_by,
        # the extract's row ledger stays inside: its counts are not protected
        "parameters": {k: v for k, v in output.parameters.items() if k != "ledger"},
        "reasons": list(output.reasons),
        "suppression_note": "primary and secondary suppressions are listed together",
    }
    if output.n is not None:
        properties["n"] = output.n
    if output.df_resid is not None:
        properties["dof"] = output.df_resid
    params = ", ".join(f"{k}={v}" for k, v in output.parameters.items() if k != "ledger")
    return {
        "uid": output.uid,
        "status": output.status,
        "type": _TYPES.get(output.kind, "custom"),
        "properties": properties,
        "files": file_entries,
        "fair": {},
        "outcome": outcome,
        "command": f"{output.made_by}({params})" if output.made_by else output.kind,
        "summary": f"{output.status}; " + "; ".join(output.reasons),
        "timestamp": output.created,
        "comments": [c for c in (output.description,) if c],
        "exception": output.exception or "",
    }


def results_json(
    exported: Sequence[tuple[Output, Sequence[str]]], export_dir: Path
) -> dict[str, Any]:
    """The whole ``results.json`` for the exported outputs.

    Notes
    -----
    Structure of AI-SDC/ACRO ``acro/record.py`` (``Records.finalise_json``); ``version`` is
    :data:`ACRO_VERSION` (ACRO 1.0.2's ``load_records`` accepts only its own version, the SACRO
    viewer 0.2.1 none below 0.4); ``generator`` names the iaptkit version. ACRO keeps only the
    CSVs of a record that has any, so a figure's images get their own record, uid
    ``<uid>`` + :data:`FIGURE_SUFFIX`, with the figure's status.
    """
    results: dict[str, Any] = {}
    for out, files in exported:
        images = [f for f in files if not f.endswith(".csv")] if out.kind == "figure" else []
        data = [f for f in files if f not in images]
        if data:
            results[out.uid] = acro_record(out, export_dir, data)
        if images:
            record = acro_record(out, export_dir, images)
            record["uid"] = out.uid + FIGURE_SUFFIX
            record["properties"]["figure_of"] = out.uid
            results[out.uid + FIGURE_SUFFIX] = record
    return {
        "version": ACRO_VERSION,
        "generator": f"iaptkit {__version__}",
        "results": results,
    }
