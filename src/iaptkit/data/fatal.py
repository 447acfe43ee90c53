"""Fatal means stop: what makes an extract unusable, checked before any derivation.

:func:`fatal_problems` lists what validation calls fatal (a required table or column missing);
unreadable, truncated or mis-encoded files, duplicated headers and tables that are directories
are refused when the extract is opened or first counted (:mod:`iaptkit.data.ledger`).
:func:`require_usable` refuses with a :class:`~iaptkit.errors.ValidationError` unless the user
explicitly allows it (``--allow-fatal``, recorded in the provenance).
"""

from __future__ import annotations

from iaptkit.data.schema import TABLES
from iaptkit.data.sources import TableAccess
from iaptkit.errors import ValidationError

__all__ = ["fatal_problems", "require_usable"]


def fatal_problems(extract: TableAccess) -> tuple[str, ...]:
    """One message per fatal problem: a required table, or a required column, missing.

    Parameters
    ----------
    extract
        An opened extract.

    Returns
    -------
    tuple of str
        Messages naming the table (and file) and what was expected; empty when usable.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS001MPI": pd.DataFrame({"Person_ID": ["A"]})})
    >>> fatal_problems(ex)[0]
    'Required table IDS101Referral is missing from DataFrames: expected a table IDS101Referral (tables present: IDS001MPI).'
    >>> ex.close()
    """  # noqa: E501
    out: list[str] = []
    present = ", ".join(extract.table_names()) or "none"
    for spec in TABLES.values():
        if spec.required and spec.name not in extract.tables:
            out.append(
                f"Required table {spec.name} is missing from {extract.source}: expected a "
                f"table {spec.name} (tables present: {present})."
            )
    for name in extract.table_names():
        src = extract.tables[name]
        missing = [f.name for f in TABLES[name].fields if f.required and f.name not in src.columns]
        if missing:
            out.append(
                f"Table {name} in {src.location} has no column {', '.join(missing)} "
                f"(required; header line, row 1); columns present: "
                f"{', '.join([*src.columns.values(), *src.extra_columns]) or 'none'}."
            )
    return tuple(out)


def require_usable(extract: TableAccess, *, allow_fatal: bool = False) -> tuple[str, ...]:
    """Refuse an extract with a fatal problem, unless ``allow_fatal``.

    Parameters
    ----------
    extract
        An opened extract.
    allow_fatal
        Go on anyway (the problems are returned, for the provenance).

    Returns
    -------
    tuple of str
        The fatal problems overridden (empty when there are none).

    Raises
    ------
    ValidationError
        The first fatal problem, and how many there are, when not allowed.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS001MPI": pd.DataFrame({"Person_ID": ["A"]})})
    >>> len(require_usable(ex, allow_fatal=True))  # IDS101 missing, IDS001 columns missing
    7
    >>> ex.close()
    """
    problems = fatal_problems(extract)
    if problems and not allow_fatal:
        more = f" ({len(problems) - 1} more fatal problems)" if len(problems) > 1 else ""
        raise ValidationError(
            f"{problems[0]}{more} Refused: fix the extract, or pass --allow-fatal to go on "
            "anyway (recorded in the output's provenance)."
        )
    return problems
