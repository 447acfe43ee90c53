"""Provenance of registered outputs: which run made them, and what may replace what.

An output's provenance is its ``made_by`` (the notebook) and ``parameters``. A run
(:meth:`iaptkit.release.store.ReleaseStore.start_run`) marks its outputs ``fail`` until it
finishes (:func:`pending_downgrade`), and supersedes the outputs of an earlier run with the same
provenance (:func:`superseded_downgrade`). An output may only be replaced by one of the same
provenance; otherwise :func:`overwrite_message` says why not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iaptkit.release.outputs import jsonable

__all__ = [
    "RUN_SOURCE",
    "overwrite_message",
    "pending_downgrade",
    "provenance_key",
    "superseded_downgrade",
]

#: Source of the downgrades a run puts on outputs (kept apart from build and cross-audit ones).
RUN_SOURCE = "run"


def provenance_key(made_by: str, parameters: Mapping[str, Any] | None) -> str:
    """Where an output came from, as one comparable text (notebook and its parameters).

    Examples
    --------
    >>> provenance_key("nb", {"b": 1, "a": 2}) == provenance_key("nb", {"a": 2, "b": 1})
    True
    """
    return json.dumps([made_by, jsonable(dict(parameters or {}))], sort_keys=True)


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys) or "none"


def overwrite_message(
    release: Path, old: Mapping[str, Any], made_by: str, parameters: Mapping[str, Any] | None
) -> str:
    """Why an output may not replace ``old`` (another provenance), and what to do instead.

    Examples
    --------
    >>> text = overwrite_message(Path("rel"), {"uid": "t", "made_by": "nb", "parameters":
    ...     {"start": "2023-04-01"}}, "nb", {"start": "2023-07-01"})
    >>> "differing: start: '2023-04-01' -> '2023-07-01'" in text
    True
    """
    uid = old.get("uid")
    old_by = str(old.get("made_by") or "")
    old_params = dict(old.get("parameters") or {})
    new_params = jsonable(dict(parameters or {}))
    differing = _differences(old_params, new_params) if old_by == made_by else "made_by"
    return (
        f"Output {uid!r} is already in release {release}, made by {old_by or '(no made_by)'} "
        f"with parameters {old_params}; this one is made by {made_by or '(no made_by)'} with "
        f"parameters {new_params} (differing: {differing}). Registering it would overwrite the "
        "other: expected outputs of different parameters to have different names (the report "
        "notebooks name them by period, provider and policy), or remove the old one first "
        f"(Release.remove({uid!r})), or use another release folder."
    )


def pending_downgrade(run: Mapping[str, Any]) -> dict[str, str]:
    """The downgrade on an output of a run that has not finished.

    Examples
    --------
    >>> pending_downgrade({"id": "r1", "made_by": "nb", "started": "t"})["status"]
    'fail'
    """
    reason = (
        f"run not finished: made by run {run.get('id')} of {run.get('made_by') or 'a notebook'} "
        f"(started {run.get('started')}), which has not reached its end; outputs of a run that "
        "stops half-way are never exported (run it again to its last cell)"
    )
    return {"source": RUN_SOURCE, "status": "fail", "reason": reason}


def superseded_downgrade(run: Mapping[str, Any]) -> dict[str, str]:
    """The downgrade on an output of an earlier run with the same provenance as ``run``.

    Examples
    --------
    >>> superseded_downgrade({"id": "r2", "made_by": "nb", "started": "t"})["reason"][:11]
    'superseded:'
    """
    reason = (
        f"superseded: a later run ({run.get('id')}, started {run.get('started')}) of "
        f"{run.get('made_by') or 'a notebook'} with the same parameters has not made this "
        "output again"
    )
    return {"source": RUN_SOURCE, "status": "fail", "reason": reason}
