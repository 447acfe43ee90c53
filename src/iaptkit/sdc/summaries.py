"""Summary statistics: enough contributors per mean or median, never a minimum or maximum.

Means, medians and other summaries need the policy's number of contributors; minima and maxima
of individuals are never released (``docs/disclosure-control.md``, "Derived statistics").
:func:`check_summary` checks, :func:`summarise` computes and blanks what the check rejects.
Re-exported by :mod:`iaptkit.sdc.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.sdc.check_rules import (
    CheckResult,
    check_rules,
    check_status,
    require_columns,
)

__all__ = ["check_summary", "summarise"]

_ALLOWED_SUMMARIES = frozenset({"mean", "median", "sum", "count", "std", "var", "quantile"})
_NEVER_RELEASED = frozenset({"min", "max", "minimum", "maximum", "range"})


def check_summary(
    data: pd.DataFrame,
    value: str,
    *,
    dims: Sequence[str] = (),
    statistics: Sequence[str] = ("mean", "median"),
    policy: object = "nhs-sde",
    name: str = "summary statistics",
) -> CheckResult:
    """Check summary statistics of ``value`` (by ``dims``) before release.

    Parameters
    ----------
    data
        Microdata, one row per individual.
    value
        The column summarised; rows where it is missing do not contribute.
    dims
        Grouping columns (empty: one overall group).
    statistics
        Names such as ``"mean"``, ``"median"``, ``"std"``; ``"min"``/``"max"`` always fail.
    policy
        A policy id, a :class:`~iaptkit.sdc.Policy`, or
        :class:`~iaptkit.sdc.check_rules.CheckRules`.
    name
        Named in the result.

    Returns
    -------
    CheckResult
        One mask row per group and statistic: dims, ``statistic``, ``contributors``,
        ``offending``, ``reason``.

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": means, medians and other summaries need at
    least the threshold number of contributors (the policy's ``min_contributors``); minimum and
    maximum values of individuals are never released.

    Examples
    --------
    >>> from iaptkit.sdc.check_rules import CheckRules
    >>> df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "wait": range(15)})
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10)
    >>> r = check_summary(df, "wait", dims=["g"], statistics=["mean"], policy=rules)
    >>> r.status, r.mask["offending"].tolist()
    ('fail', [False, True])
    >>> check_summary(df, "wait", statistics=["max"], policy=rules).status
    'fail'
    """
    rules = check_rules(policy)
    dims = list(dims)
    require_columns(data, [*dims, value], name)
    unknown = [s for s in statistics if s not in _ALLOWED_SUMMARIES | _NEVER_RELEASED]
    if unknown:
        raise ConfigError(
            f"{name}: unknown statistics {unknown}; expected some of "
            f"{sorted(_ALLOWED_SUMMARIES | _NEVER_RELEASED)}"
        )
    present = data.loc[data[value].notna(), dims]
    counts = present.groupby(dims, dropna=False, sort=True).size() if dims else None
    groups: list[tuple[tuple[Any, ...], int]] = (
        [((k if isinstance(k, tuple) else (k,)), int(n)) for k, n in counts.items()]
        if counts is not None
        else [((), len(present))]
    )
    rows: list[dict[str, Any]] = []
    reasons: list[str] = []
    for key, n in groups:
        label = ", ".join(f"{d}={k}" for d, k in zip(dims, key, strict=True)) or "overall"
        for stat in statistics:
            if stat in _NEVER_RELEASED:
                why = f"{stat} of individual values is never released"
            elif n < rules.min_contributors:
                why = f"{n} contributors, fewer than {rules.min_contributors}"
            else:
                why = ""
            if why:
                reasons.append(f"{label} {stat}: {why}")
            rows.append(
                {
                    **dict(zip(dims, key, strict=True)),
                    "statistic": stat,
                    "contributors": n,
                    "offending": bool(why),
                    "reason": why,
                }
            )
    mask = pd.DataFrame(rows, columns=[*dims, "statistic", "contributors", "offending", "reason"])
    return CheckResult(name, check_status(reasons, ()), tuple(reasons), mask)


def summarise(
    data: pd.DataFrame,
    value: str,
    *,
    dims: Sequence[str] = (),
    statistics: Sequence[str] = ("mean", "median"),
    policy: object = "nhs-sde",
    decimals: int = 1,
) -> tuple[pd.DataFrame, CheckResult]:
    """Compute summary statistics and blank those :func:`check_summary` rejects.

    Returns
    -------
    tuple
        A long table for export (dims, ``statistic``, ``value`` as text or ``"*"``, policy id
        and version) and the :class:`~iaptkit.sdc.check_rules.CheckResult` (whose mask has the
        contributor counts, for the checker; they are not exported, since a count published
        beside a statistic could undo the suppression of a linked count table).

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics".

    Examples
    --------
    >>> from iaptkit.sdc.check_rules import CheckRules
    >>> df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "wait": range(15)})
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10)
    >>> table, _ = summarise(df, "wait", dims=["g"], statistics=["mean"], policy=rules)
    >>> table["value"].tolist()
    ['5.5', '*']
    """
    rules = check_rules(policy)
    result = check_summary(
        data, value, dims=dims, statistics=statistics, policy=rules, name=f"summary of {value}"
    )
    assert result.mask is not None
    out = result.mask.copy()
    numbers = pd.to_numeric(data[value], errors="coerce")
    frame = data[list(dims)].assign(_v=numbers)
    by_key: dict[tuple[Any, ...], pd.Series] = (
        {
            (k if isinstance(k, tuple) else (k,)): g["_v"]
            for k, g in frame.groupby(list(dims), dropna=False, sort=True)
        }
        if dims
        else {(): frame["_v"]}
    )
    values: list[str] = []
    for row_key, row in zip(
        out[list(dims)].itertuples(index=False, name=None), out.to_dict("records"), strict=True
    ):
        if row["offending"]:
            values.append("*")
            continue
        series = by_key[tuple(row_key)].dropna()
        stat = str(row["statistic"])
        number = float(series.quantile(0.5) if stat == "quantile" else getattr(series, stat)())
        values.append(f"{number:.{decimals}f}")
    out["value"] = values

    out["policy_id"] = rules.policy_id
    out["policy_version"] = rules.policy_version
    # The contributor counts stay in result.mask (inside the environment): published beside
    # the statistic they could undo the suppression of linked count tables.
    return out.drop(columns=["offending", "reason", "contributors"]), result
