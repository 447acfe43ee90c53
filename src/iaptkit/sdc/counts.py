"""The counts going into a protected table: a long table or microdata, validated.

:func:`inner_counts` checks the input of :func:`iaptkit.sdc.protect` (dims + a count column,
or one row per person to be counted) and returns one row per inner cell; the totals and
relations are added by :func:`iaptkit.sdc.tables.build_cells`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from iaptkit.errors import ConfigError

__all__ = ["MAX_COUNT", "inner_counts"]

#: The largest count a table may hold: exact in the float64 and int64 arithmetic of the
#: suppression and audit (a count of 1e20 would wrap to a negative int64).
MAX_COUNT = 10**15


def inner_counts(
    data: pd.DataFrame, dims: Sequence[str], value: str | None, *, name: str = "table"
) -> pd.DataFrame:
    """Validate a count table or microdata and return one row per inner cell.

    Parameters
    ----------
    data
        A long table (one row per inner cell: ``dims`` + ``value``) or, with ``value=None``,
        microdata (one row per person/pathway: rows are counted).
    dims
        The dimension columns.
    value
        The count column, or ``None`` to count rows.
    name
        Table name for error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``dims`` (strings) and ``value`` (int64), one row per distinct cell.

    Raises
    ------
    ConfigError
        Missing dims or value column, missing dim values, duplicate cells, negative or
        non-integer counts (the message names the table, column, rows and examples).

    Notes
    -----
    Input rules of ``protect`` (``docs/module-contracts.md``;
    docs/disclosure-control.md "Policies").

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["F", "M", "F"]})
    >>> inner_counts(df, ["sex"], None).to_dict("list")
    {'sex': ['F', 'M'], 'value': [2, 1]}
    """
    dims = list(dims)
    if not dims:
        raise ConfigError(f"Table {name!r}: expected at least one dimension column, found none.")
    if len(set(dims)) != len(dims):
        raise ConfigError(f"Table {name!r}: dimension columns repeated: {dims}.")
    cols = [*dims] + ([value] if value is not None else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ConfigError(
            f"Table {name!r}: expected columns {cols}; missing {missing}; found "
            f"{list(map(str, data.columns))} ({len(data)} rows)."
        )
    if value is not None and value in dims:
        raise ConfigError(f"Table {name!r}: the count column {value!r} is also a dimension.")
    if len(data) == 0:
        raise ConfigError(f"Table {name!r}: expected at least one row, found none.")
    null_rows = data[dims].isna().any(axis=1)
    if bool(null_rows.any()):
        bad = [d for d in dims if bool(data[d].isna().any())]
        raise ConfigError(
            f"Table {name!r}: {int(null_rows.sum())} of {len(data)} rows have no value in "
            f"dimension column(s) {bad}; expected a label in every row (e.g. 'Unknown')."
        )
    keys = data[dims].astype(str)
    if value is None:
        counted = keys.value_counts(sort=False).rename("value").reset_index()
        out = counted.sort_values(dims, kind="stable").reset_index(drop=True)
        out["value"] = out["value"].astype(np.int64)
        return out
    raw = data[value]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad_num = numeric.isna()
    if bool(bad_num.any()):
        examples = raw[bad_num].head(3).tolist()
        raise ConfigError(
            f"Table {name!r}, column {value!r}: expected whole-number counts >= 0; "
            f"{int(bad_num.sum())} of {len(data)} rows are missing or not numbers "
            f"(e.g. {examples})."
        )
    arr = numeric.to_numpy(dtype=np.float64)
    bad_int = ~np.isfinite(arr) | (np.floor(arr) != arr)
    if bool(bad_int.any()):
        examples = raw[bad_int].head(3).tolist()
        raise ConfigError(
            f"Table {name!r}, column {value!r}: expected whole-number counts; "
            f"{int(bad_int.sum())} rows are not whole numbers (e.g. {examples})."
        )
    if bool((arr < 0).any()):
        examples = raw[arr < 0].head(3).tolist()
        raise ConfigError(
            f"Table {name!r}, column {value!r}: expected counts >= 0; {int((arr < 0).sum())} "
            f"rows are negative (e.g. {examples})."
        )
    too_big = arr > MAX_COUNT
    if bool(too_big.any()):
        examples = raw[too_big].head(3).tolist()
        raise ConfigError(
            f"Table {name!r}, column {value!r}: expected counts from 0 to {MAX_COUNT:,} "
            f"(held exactly); {int(too_big.sum())} rows are larger (e.g. {examples})."
        )
    dup = keys.duplicated(keep=False)
    if bool(dup.any()):
        examples = keys[dup].drop_duplicates().head(3).to_dict("records")
        raise ConfigError(
            f"Table {name!r}: expected one row per cell of {dims}; "
            f"{int(dup.sum())} rows repeat a cell (e.g. {examples})."
        )
    out = keys.copy()
    out["value"] = arr.astype(np.int64)
    return out.sort_values(dims, kind="stable").reset_index(drop=True)
