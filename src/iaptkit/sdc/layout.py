"""The analyst's layout of a protected table: numeric columns, one status per cell, ordered groups.

What :meth:`iaptkit.sdc.ProtectedTable.published` and
:meth:`iaptkit.sdc.derived.ProtectedMeasures.published` return: values as pandas nullable numbers
(``Int64`` counts, ``Float64`` rates and means; ``<NA>`` where suppressed or missing), a
``status`` column (``published``, ``rounded``, ``suppressed`` or ``missing``; primary and
secondary suppression are never told apart outside the underlying-counts view), and group
columns as ordered categoricals when their labels have an order (IMD decile 1..10, age bands),
with ``Unknown`` and ``Total`` last. Suppression markers (``*``) are written only when a table is
exported to CSV (:func:`with_markers`).

Examples
--------
>>> ordered_groups(pd.Series(["10", "2", "Unknown", "1", "Total"])).cat.categories.tolist()
['1', '2', '10', 'Unknown', 'Total']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

import pandas as pd

__all__ = [
    "CELL_FILL",
    "CELL_STATES",
    "CELL_TEXT",
    "MARKER",
    "PUBLIC_STATUSES",
    "TEXT",
    "frame_html",
    "label_order",
    "ordered_groups",
    "public_status",
    "with_markers",
]

#: How a suppressed cell is written in an exported CSV file.
MARKER = "*"
#: The statuses of a cell outside the underlying-counts view.
PUBLIC_STATUSES = ("published", "rounded", "suppressed", "missing")
#: Text colour of the charts, the report and the notebook display (NHS identity).
TEXT: Final = "#212b32"

#: The states a protected table's cell can be in.
CELL_STATES: Final = (
    "published",
    "rounded",
    "missing",
    "suppressed",
    "primary",
    "secondary",
    "structural_zero",
    "failed",
)

#: Background of a table cell by state (the reviewer report's cell shading).
CELL_FILL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "published": "#ffffff",
        "missing": "#f0f4f5",
        "rounded": "#e8f1fa",
        "suppressed": "#ffd966",
        "primary": "#f4a261",
        "secondary": "#ffe8a3",
        "structural_zero": "#e3e3e3",
        "failed": "#f8d7da",
    }
)

#: Text colour of a table cell by state.
CELL_TEXT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "published": TEXT,
        "rounded": TEXT,
        "missing": "#555555",
        "suppressed": "#7a2e00",
        "primary": "#7a2e00",
        "secondary": "#7a2e00",
        "structural_zero": "#555555",
        "failed": "#721c24",
    }
)

#: Labels placed after every ordered label, in this order.
_LAST = (
    "Other",
    "Other or not known",
    "Not stated",
    "Not known",
    "Unknown",
    "small groups",
    "Total",
)
_NUMBER = re.compile(r"^(?:(under|below|<)\s*)?(\d+(?:\.\d+)?)", re.IGNORECASE)


def _key(label: str) -> float | None:
    m = _NUMBER.match(label.strip())
    if m is None:
        return None
    value = float(m.group(2))
    return value - 0.5 if m.group(1) else value


def label_order(labels: Iterable[object]) -> list[str] | None:
    """The natural order of group labels, or ``None`` when they have none.

    Labels have an order when every label (other than ``Unknown``, ``Total`` and the like)
    starts with a number or with ``Under <number>``: IMD deciles, age bands, score bands.

    Parameters
    ----------
    labels
        The labels (any order, repeats allowed).

    Returns
    -------
    list of str or None
        The distinct labels in order, specials last; ``None`` for unordered labels.

    Examples
    --------
    >>> label_order(["18-25", "Under 18", "90+", "Unknown", "26-64"])
    ['Under 18', '18-25', '26-64', '90+', 'Unknown']
    >>> label_order(["RAA", "R1B"]) is None
    True
    """
    distinct = list(dict.fromkeys(str(x) for x in labels if not pd.isna(x)))  # type: ignore[call-overload]
    special = [x for x in _LAST if x in distinct]
    rest = [x for x in distinct if x not in _LAST]
    keys = [_key(x) for x in rest]
    if not rest or any(k is None for k in keys):
        return None
    ordered = [x for _, x in sorted(zip(keys, rest, strict=True), key=lambda t: (t[0], t[1]))]
    return ordered + special


def ordered_groups(values: pd.Series) -> pd.Series:
    """A column of group labels as an ordered categorical when the labels have an order.

    Parameters
    ----------
    values
        Group labels.

    Returns
    -------
    pandas.Series
        Ordered categorical (see :func:`label_order`), else the labels as strings (missing
        labels stay ``<NA>``).

    Examples
    --------
    >>> ordered_groups(pd.Series(["2", "10", "1"])).sort_values().tolist()
    ['1', '2', '10']
    """
    order = label_order(values)
    text = values.astype("string")
    if order is None:
        return text
    return pd.Series(
        pd.Categorical(text, categories=order, ordered=True), index=values.index, name=values.name
    )


def public_status(status: pd.Series, *, rounded: pd.Series | bool) -> pd.Series:
    """The status an analyst or a checker outside may see, from the internal one.

    Parameters
    ----------
    status
        Internal statuses (``published``, ``primary``, ``secondary``, ``structural_zero``,
        ``suppressed``, ``missing``).
    rounded
        Whether each published cell was rounded by the policy (a bool for all cells).

    Returns
    -------
    pandas.Series
        ``suppressed`` for primary and secondary suppression alike (an attacker must not tell
        them apart), ``rounded`` for a published rounded count, else ``published`` or
        ``missing``.

    Examples
    --------
    >>> public_status(pd.Series(["primary", "secondary", "published"]), rounded=True).tolist()
    ['suppressed', 'suppressed', 'rounded']
    """
    s = status.astype(str)
    hidden = s.isin(["primary", "secondary", "suppressed"])
    rnd = pd.Series(rounded, index=s.index) if isinstance(rounded, bool) else rounded
    out = pd.Series("published", index=s.index, dtype="string")
    out[rnd.astype(bool) & (s == "published")] = "rounded"
    out[s == "missing"] = "missing"
    out[hidden] = "suppressed"
    return out


def with_markers(
    frame: pd.DataFrame, columns: Sequence[str], *, marker: str = MARKER
) -> pd.DataFrame:
    """The table as text for a CSV export: suppressed cells written as ``marker``.

    Parameters
    ----------
    frame
        A published view with a ``status`` column.
    columns
        The value columns (``value``, ``numerator``, ...): ``marker`` where the row's status is
        ``suppressed``, empty where missing, else the number as written by pandas.
    marker
        What a suppressed cell is written as.

    Returns
    -------
    pandas.DataFrame
        A copy with those columns as text.

    Examples
    --------
    >>> df = pd.DataFrame({"value": pd.array([15, None], dtype="Int64"),
    ...                    "status": ["rounded", "suppressed"]})
    >>> with_markers(df, ["value"])["value"].tolist()
    ['15', '*']
    """
    out = frame.copy()
    hidden = out["status"].astype(str) == "suppressed"
    for c in columns:
        if c not in out.columns:
            continue
        col = out[c]
        text = col.astype("string").fillna("")
        out[c] = text.where(~hidden, marker).astype(object)
    return out


def _cell_text(value: object, state: str) -> str:
    if pd.isna(value):  # type: ignore[call-overload]
        return MARKER if state == "suppressed" else ""
    return str(value)


def frame_html(
    frame: pd.DataFrame,
    title: str,
    *,
    limit: int = 200,
    numbers: Sequence[str] | None = None,
) -> str:
    """A published view as an HTML table, each row shaded by its ``status`` (notebook display).

    Parameters
    ----------
    frame
        A published view (with ``status``; never the underlying counts).
    title
        Shown above the table (escaped).
    limit
        At most this many rows are shown (the number left out is said).
    numbers
        The value columns: a missing value of a suppressed row shows as ``*`` there, and as
        blank in the others (a breakdown the row is not of); ``None``: every column.

    Returns
    -------
    str
        The HTML; suppressed values show as ``*``.

    Examples
    --------
    >>> df = pd.DataFrame({"value": pd.array([15, None], dtype="Int64"),
    ...                    "status": ["rounded", "suppressed"]})
    >>> "data-status='suppressed'" in frame_html(df, "t")
    True
    """
    import html

    e = html.escape
    shown = frame.head(limit)
    head = "".join(f"<th>{e(str(c))}</th>" for c in shown.columns)
    rows = []
    for rec in shown.astype(object).to_dict("records"):
        state = str(rec.get("status", "published"))
        fill, text = CELL_FILL.get(state, "#ffffff"), CELL_TEXT.get(state, TEXT)
        cells = "".join(
            f"<td>{e(_cell_text(v, state if numbers is None or k in numbers else ''))}</td>"
            for k, v in rec.items()
        )
        rows.append(
            f"<tr data-status='{e(state)}' style='background:{fill};color:{text}'>{cells}</tr>"
        )
    more = len(frame) - len(shown)
    tail = f"<small>{more:,} more rows not shown.</small>" if more > 0 else ""
    return (
        f"<div class='iaptkit-protected'><b>{e(title)}</b>"
        f"<table style='border-collapse:collapse'><tr>{head}</tr>{''.join(rows)}</table>{tail}"
        f"<small> <span style='background:{CELL_FILL['suppressed']}'>&nbsp;*&nbsp;</span> "
        "suppressed (exported as *). The underlying counts: <code>.underlying()</code> (never "
        "exported).</small></div>"
    )
