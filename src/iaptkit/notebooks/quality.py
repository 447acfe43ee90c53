"""Field quality for the data-quality notebook: completeness and code-list conformance.

Counted rows only (docs/data-model.md, "which rows count"), by provider and month: what
``notebooks/01_data_quality.ipynb`` protects and shows. True counts, for use inside the
environment only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iaptkit.errors import ConfigError

__all__ = ["field_quality"]


def field_quality(
    extract: Any,
    table: str,
    *,
    fields: Sequence[str] | None = None,
    by: Sequence[str] = ("OrgID_Provider", "Unique_MonthID"),
    provider: str = "",
) -> Any:
    """Completeness and code-list conformance of a table's fields, by provider and month.

    Parameters
    ----------
    extract
        An :class:`~iaptkit.data.Extract`.
    table
        An IDS table name (``schema.TABLES``).
    fields
        Fields to report (default: every field of the table present in the source, except
        ``by``).
    by
        Grouping columns (counted rows of the table).
    provider
        Keep only this provider's rows (``""``: all).

    Returns
    -------
    pandas.DataFrame
        One row per group and field: ``table``, ``field``, the ``by`` columns, ``rows``,
        ``present`` (typed value not null: present and readable), ``conforming`` (for code
        fields: value in the code list; NaN for other fields).

    Notes
    -----
    Fields, types and code lists from docs/data-model.md via :mod:`iaptkit.data.schema`; rows are
    the counted submissions only (docs/data-model.md, "which rows count").

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS201CareContact": pd.DataFrame({"UniqueSubmissionID": [1, 1],
    ...     "Unique_MonthID": [1480, 1480], "OrgID_Provider": ["R1A", "R1A"],
    ...     "PathwayID": ["P1", "P1"], "CareContactId": ["C1", "C2"],
    ...     "CareContDate": ["2023-04-03", "2023-04-10"], "AppType": ["02", "2"],
    ...     "AttendOrDNACode": ["5", "5"], "PlannedCareContIndicator": ["Y", "Y"]})})
    >>> q = field_quality(ex, "IDS201CareContact", fields=["AppType"])
    >>> q[["field", "rows", "present", "conforming"]].values.tolist()
    [['AppType', 2, 2, 1.0]]
    """
    from iaptkit.data.schema import CODE_LISTS, TABLES

    if table not in TABLES:
        raise ConfigError(f"field_quality: unknown table {table!r}; expected one of {list(TABLES)}")
    spec = TABLES[table]
    t = extract.counted(table)
    if provider:
        t = t.filter(t.OrgID_Provider == provider)
    wanted = [
        f
        for f in spec.fields
        if (fields is None or f.name in fields)
        and f.name not in by
        and extract.has_column(table, f.name)
    ]
    aggs: dict[str, Any] = {"rows": t.count()}
    for f in wanted:
        aggs[f"present__{f.name}"] = t[f.name].notnull().sum()
        if f.code_list:
            allowed = sorted(CODE_LISTS[f.code_list])
            aggs[f"conforming__{f.name}"] = t[f.name].isin(allowed).sum()
    wide = t.group_by(list(by)).aggregate(**aggs).execute()
    import pandas as pd

    parts = []
    for f in wanted:
        part = wide[list(by)].copy()
        part.insert(0, "field", f.name)
        part.insert(0, "table", table)
        part["rows"] = wide["rows"].astype("int64")
        part["present"] = wide[f"present__{f.name}"].astype("int64")
        key = f"conforming__{f.name}"
        part["conforming"] = wide[key].astype("float64") if key in wide else float("nan")
        parts.append(part)
    columns = ["table", "field", *by, "rows", "present", "conforming"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["field", *by], kind="stable").reset_index(drop=True)[columns]
