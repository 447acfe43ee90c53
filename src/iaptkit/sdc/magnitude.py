"""Magnitude tables: threshold of contributors, the dominance (n, k) rule and the p% rule.

A magnitude table (sums of a value, e.g. total sessions by provider) needs the threshold number
of contributors per cell and must pass the dominance (n, k) rule and the p% rule
(``docs/disclosure-control.md``, "Derived statistics"). Re-exported by :mod:`iaptkit.sdc.checks`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.sdc.check_rules import (
    CheckResult,
    check_rules,
    check_status,
    require_columns,
)

__all__ = ["check_magnitude"]


def check_magnitude(
    data: pd.DataFrame,
    dims: Sequence[str],
    value: str,
    *,
    contributor: str | None = None,
    policy: object = "nhs-sde",
    name: str = "magnitude table",
) -> CheckResult:
    """Check a magnitude table (sum of ``value`` by ``dims``) for small cells and dominance.

    Parameters
    ----------
    data
        Microdata: one row per contribution (e.g. one row per pathway with its session count).
    dims
        Columns defining the cells of the table (empty for a single total).
    value
        The non-negative magnitude summed in each cell.
    contributor
        Column identifying a contributor (e.g. ``Person_ID``); contributions of one contributor to
        a cell are added first. ``None``: every row is its own contributor.
    policy
        A policy id, a :class:`~iaptkit.sdc.Policy`, or
        :class:`~iaptkit.sdc.check_rules.CheckRules`.
    name
        Named in the result.

    Returns
    -------
    CheckResult
        ``fail`` when any cell has fewer contributors than the threshold, fails dominance (the
        ``n`` largest contributions exceed ``k`` % of the total) or fails the p% rule (the total
        less the two largest contributions is under ``p`` % of the largest). The mask has one row
        per cell: dims, ``contributors``, ``top_n_share`` (%), ``p_margin`` (%), ``offending``,
        ``reason``. ``review`` when it passes but the policy defines neither dominance nor p%.

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": magnitude tables are also checked for
    dominance and p% (the ``sdap`` policy: n=2, k=90 %, p=10 %, as in ACRO's defaults).

    Examples
    --------
    >>> from iaptkit.sdc.check_rules import CheckRules
    >>> df = pd.DataFrame({"provider": ["A"] * 10 + ["B"] * 10,
    ...                    "sessions": [5] * 10 + [100] + [1] * 9})
    >>> rules = CheckRules("sdap", "1", threshold=10, min_contributors=10,
    ...                    dominance_n=2, dominance_k=90.0, p_percent=10.0)
    >>> result = check_magnitude(df, ["provider"], "sessions", policy=rules)
    >>> result.status
    'fail'
    >>> result.mask[["provider", "offending"]].to_dict("list")
    {'provider': ['A', 'B'], 'offending': [False, True]}
    """
    rules = check_rules(policy)
    dims = list(dims)
    require_columns(data, [*dims, value] + ([contributor] if contributor else []), name)
    values = pd.to_numeric(data[value], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = int(values.isna().sum() + (values < 0).sum())
        raise ConfigError(
            f"{name}: expected non-negative numbers in column {value!r}; found {bad} of "
            f"{len(data)} rows missing, non-numeric or negative"
        )
    frame = data[dims].copy()
    frame["_value"] = values.astype("float64")
    frame["_who"] = data[contributor].to_numpy() if contributor else np.arange(len(data))
    keys = [*dims, "_who"]
    per_contributor = frame.groupby(keys, dropna=False, sort=True)["_value"].sum().reset_index()

    rows: list[dict[str, Any]] = []
    reasons: list[str] = []
    groups = (
        per_contributor.groupby(dims, dropna=False, sort=True) if dims else [((), per_contributor)]
    )
    for key, cell in groups:
        key_t = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{d}={k}" for d, k in zip(dims, key_t, strict=True)) or "total"
        contribs = np.sort(cell["_value"].to_numpy())[::-1]
        total = float(contribs.sum())
        count = len(contribs)
        cell_reasons: list[str] = []
        if count < rules.threshold:
            cell_reasons.append(f"{count} contributors, fewer than the threshold {rules.threshold}")
        top_share = math.nan
        if rules.dominance_n is not None and rules.dominance_k is not None and total > 0:
            top_share = 100.0 * float(contribs[: rules.dominance_n].sum()) / total
            if top_share > rules.dominance_k:
                cell_reasons.append(
                    f"dominance: the {rules.dominance_n} largest contributors make "
                    f"{top_share:.1f}% of the total (limit {rules.dominance_k:g}%)"
                )
        p_margin = math.nan
        if rules.p_percent is not None and count > 0 and contribs[0] > 0:
            rest = total - float(contribs[:2].sum())
            p_margin = 100.0 * rest / float(contribs[0])
            if p_margin < rules.p_percent:
                cell_reasons.append(
                    f"p% rule: the second-largest contributor could estimate the largest within "
                    f"{p_margin:.1f}% (limit {rules.p_percent:g}%)"
                )
        if cell_reasons:
            reasons.append(f"{label}: " + "; ".join(cell_reasons))
        rows.append(
            {
                **dict(zip(dims, key_t, strict=True)),
                "contributors": count,
                "top_n_share": top_share,
                "p_margin": p_margin,
                "offending": bool(cell_reasons),
                "reason": "; ".join(cell_reasons),
            }
        )
    review: list[str] = []
    if rules.dominance_n is None and rules.p_percent is None:
        review.append(
            f"policy {rules.policy_id} {rules.policy_version} defines no dominance or p% rule: "
            "a checker must judge dominance"
        )
    mask = pd.DataFrame(
        rows, columns=[*dims, "contributors", "top_n_share", "p_margin", "offending", "reason"]
    )
    all_reasons = [*reasons, *review] if reasons else review
    return CheckResult(name, check_status(reasons, review), tuple(all_reasons), mask)
