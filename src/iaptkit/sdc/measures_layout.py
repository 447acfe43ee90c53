"""The analyst's layout of protected measures: numbers, a status per row, a column per breakdown.

:func:`published_layout` turns the internal cells of
:class:`~iaptkit.sdc.derived.ProtectedMeasures` (text as published, true values, internal
statuses) into the view an analyst computes with: ``Float64`` values, ``Int64`` numerator and
denominator counts, one column per breakdown dimension instead of the fused ``"RAA | 1"`` group,
ordered categoricals for ordered groups, the public status, and which counts each rate was made
from. It never carries a true value.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR, GROUP_SEPARATOR
from iaptkit.sdc.layout import ordered_groups, public_status, with_markers
from iaptkit.sdc.policies import Policy

__all__ = [
    "VALUE_COLUMNS",
    "breakdown_columns",
    "export_layout",
    "published_layout",
]

#: The numeric columns of the view (written with ``*`` where suppressed in a CSV export).
VALUE_COLUMNS = ("value", "numerator", "denominator", "ci_lower", "ci_upper")
_KEY = ("period_start", "period_end", "breakdown", "group", "measure")
_FIRST = ("period_start", "period_end", "breakdown")


def breakdown_columns(breakdown: pd.Series, group: pd.Series) -> pd.DataFrame:
    """One column per breakdown dimension, from the ``breakdown`` and fused ``group`` columns.

    Parameters
    ----------
    breakdown
        ``england``, ``provider``, ``provider x age_band``, ...
    group
        ``England``, ``RAA``, ``RAA | 18-25``, ...

    Returns
    -------
    pandas.DataFrame
        A column per dimension in order of first appearance (``<NA>`` where a row's breakdown
        does not use it); ordered categoricals where the labels have an order.

    Examples
    --------
    >>> b = pd.Series(["england", "provider", "provider x imd_decile", "provider x imd_decile"])
    >>> g = pd.Series(["England", "RAA", "RAA | 10", "RAA | 2"])
    >>> cols = breakdown_columns(b, g)
    >>> list(cols.columns), cols["imd_decile"].cat.categories.tolist()
    (['provider', 'imd_decile'], ['2', '10'])
    """
    b = breakdown.astype(str).reset_index(drop=True)
    g = group.astype(str).reset_index(drop=True)
    dims: list[str] = []
    for name in dict.fromkeys(b):
        if name == "england":
            continue
        for d in name.split(BREAKDOWN_SEPARATOR):
            if d not in dims:
                dims.append(d)
    values: dict[str, list[object]] = {d: [pd.NA] * len(b) for d in dims}
    for i, (name, label) in enumerate(zip(b, g, strict=True)):
        if name == "england":
            continue
        parts = name.split(BREAKDOWN_SEPARATOR)
        labels = label.split(GROUP_SEPARATOR) if len(parts) > 1 else [label]
        for d, lab in zip(parts, labels, strict=False):
            values[d][i] = lab
    return pd.DataFrame(
        {d: ordered_groups(pd.Series(v, dtype="string")) for d, v in values.items()},
        index=pd.RangeIndex(len(b)),
    )


def _numbers(text: pd.Series) -> pd.Series:
    shown = text.astype(str).where(~text.astype(str).isin(["", "*", "nan", "<NA>"]))
    return pd.to_numeric(shown, errors="coerce").astype("Float64")


def published_layout(cells: pd.DataFrame, columns: Sequence[str], policy: Policy) -> pd.DataFrame:
    """The analyst view of protected measures (see ``ProtectedMeasures.published``).

    Parameters
    ----------
    cells
        ``ProtectedMeasures.cells`` (internal).
    columns
        The input table's columns, in order.
    policy
        The policy applied (its rounding and ``rates_from`` rule are stated per row).

    Returns
    -------
    pandas.DataFrame
        See ``ProtectedMeasures.published``.

    Examples
    --------
    >>> cells = pd.DataFrame({"period_start": ["2024-04-01"], "period_end": ["2024-06-30"],
    ...     "breakdown": ["provider"], "group": ["RAA"], "measure": ["referrals_received"],
    ...     "kind": ["count"], "value": [57], "display": ["55"], "status": ["published"],
    ...     "ci_lower_display": [""], "ci_upper_display": [""]})
    >>> from iaptkit.sdc.policies import load_policy
    >>> out = published_layout(cells, ["period_start", "period_end", "breakdown", "group",
    ...     "measure", "value", "kind"], load_policy("nhs-sde"))
    >>> out[["provider", "value", "status"]].astype(str).values.tolist()
    [['RAA', '55.0', 'rounded']]
    """
    c = cells.reset_index(drop=True)
    out = c[list(_FIRST)].astype(str).copy()
    dims = breakdown_columns(c["breakdown"], c["group"])
    for d in dims.columns:
        out[d] = dims[d]
    out["measure"] = c["measure"].astype(str)
    out["kind"] = c["kind"].astype(str)
    is_count = (out["kind"] == "count").to_numpy()
    national = (out["breakdown"] == "england").to_numpy()
    rounded = pd.Series(
        [
            policy.rounds_cell(national=bool(n)) and bool(k)
            for n, k in zip(national, is_count, strict=True)
        ]
    )
    status = public_status(c["status"], rounded=rounded)
    out["value"] = _numbers(c["display"])
    out["status"] = status.to_numpy()
    # numerator and denominator: the published counts of the measures they name
    shown = pd.Series(
        _numbers(c["display"]).to_numpy(), index=pd.MultiIndex.from_frame(c[list(_KEY)].astype(str))
    )
    shown = shown[is_count]
    base = c[list(_KEY[:-1])].astype(str)
    for col in ("numerator", "denominator"):
        names = c[col] if col in c.columns else pd.Series(pd.NA, index=c.index)
        keys = [
            (*row, str(n)) if not pd.isna(n) else None
            for row, n in zip(base.itertuples(index=False, name=None), names, strict=True)
        ]
        vals = [
            shown.get(k, pd.NA) if k is not None and not is_count[i] else pd.NA
            for i, k in enumerate(keys)
        ]
        out[col] = pd.array([None if pd.isna(v) else round(float(v)) for v in vals], dtype="Int64")
        measure_names = [
            None if k or pd.isna(n) else str(n) for k, n in zip(is_count, names, strict=True)
        ]
        out[f"{col}_measure"] = pd.array(measure_names, dtype="string")
    out["ci_lower"] = _numbers(c["ci_lower_display"])
    out["ci_upper"] = _numbers(c["ci_upper_display"])
    is_rate = (out["kind"] == "rate").to_numpy()
    rule = f"{policy.rates_from} counts"
    out["rate_from"] = pd.array([rule if r else None for r in is_rate], dtype="string")
    hidden = (status == "suppressed").to_numpy()
    for col in ("value", "ci_lower", "ci_upper"):
        out.loc[hidden, col] = pd.NA
    known = {*_KEY, "kind", "value", "numerator", "denominator", "ci_lower", "ci_upper"}
    for col in columns:
        if col not in known and col not in out.columns:
            out[col] = c[col].to_numpy()
    out["policy_id"] = policy.id
    out["policy_version"] = policy.version
    return out


def export_layout(published: pd.DataFrame, display: pd.DataFrame | None = None) -> pd.DataFrame:
    """The published view as text for a CSV file: numbers as published, ``*`` where suppressed.

    Parameters
    ----------
    published
        From :func:`published_layout`.
    display
        Optional: the published text of ``value``, ``ci_lower`` and ``ci_upper`` (the policy's
        decimals, e.g. ``"95"`` for a rate with no decimals), row for row.

    Returns
    -------
    pandas.DataFrame
        The same columns; the value columns as text (empty where missing).

    Examples
    --------
    >>> df = pd.DataFrame({"kind": ["count", "rate", "count"], "status": ["rounded",
    ...     "published", "suppressed"], "value": pd.array([55.0, 40.4, None], dtype="Float64")})
    >>> export_layout(df)["value"].tolist()
    ['55', '40.4', '*']
    """
    counts = published["kind"].astype(str) == "count"
    fixed = published.copy()
    text = fixed["value"].astype("Float64")
    as_text = [
        None if pd.isna(v) else (str(round(float(v))) if c else str(v))
        for v, c in zip(text, counts, strict=True)
    ]
    fixed["value"] = pd.array(as_text, dtype="string")
    if display is not None:
        for col in ("value", "ci_lower", "ci_upper"):
            if col in display.columns and col in fixed.columns:
                given = display[col].astype("string").reset_index(drop=True)
                fixed[col] = given.where(fixed[col].notna() & (given != ""), fixed[col])
    return with_markers(fixed, [c for c in VALUE_COLUMNS if c in fixed.columns])
