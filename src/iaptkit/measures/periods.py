"""Reporting periods: months, quarters and financial years as (start, end) dates.

NHS Talking Therapies publications report calendar months, financial-year quarters and
financial years (April to March). A period is a closed interval of dates ``[start, end]``
(docs/measures.md §2: "a period P = [S, E]"). Parsing helpers turn the text an analyst types on the
command line or in a notebook parameter into dates, and raise :class:`~iaptkit.errors.ConfigError`
with the expected format when the text is wrong.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from iaptkit.errors import ConfigError

__all__ = [
    "check_period",
    "financial_year",
    "month",
    "parse_date",
    "parse_period",
    "quarter",
]

_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_FY_RE = re.compile(r"^(\d{4})[-/](\d{2}|\d{4})$")
_QUARTER_RE = re.compile(r"^(\d{4})[-/](\d{2}|\d{4})\s*Q([1-4])$", re.IGNORECASE)


def _month_end(year: int, month_: int) -> date:
    return date(year, month_, calendar.monthrange(year, month_)[1])


def parse_date(text: str | date, *, what: str = "date") -> date:
    """Parse an ISO date ``YYYY-MM-DD`` (a :class:`~datetime.date` passes through).

    Parameters
    ----------
    text
        The text to parse, e.g. ``"2024-03-31"``.
    what
        What the date is for (``"--as-at"``, ``"period start"``), used in the error message.

    Returns
    -------
    datetime.date
        The parsed date.

    Raises
    ------
    ConfigError
        If the text is not a valid ISO date.

    Notes
    -----
    Dates in extracts and parameters are ISO ``YYYY-MM-DD`` (docs/data-model.md, "Where an extract
    lives").

    Examples
    --------
    >>> parse_date("2024-03-31")
    datetime.date(2024, 3, 31)
    """
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(
            f"{what}: expected a date as YYYY-MM-DD (e.g. 2024-03-31), found {text!r}."
        ) from None


def month(text: str) -> tuple[date, date]:
    """Return the first and last day of a calendar month given as ``YYYY-MM``.

    Parameters
    ----------
    text
        The month, e.g. ``"2023-07"``.

    Returns
    -------
    tuple of datetime.date
        ``(start, end)``, both inclusive.

    Raises
    ------
    ConfigError
        If the text is not ``YYYY-MM`` with a month 1 to 12.

    Notes
    -----
    Monthly submissions and monthly publications cover calendar months (docs/data-model.md,
    ``Unique_MonthID``).

    Examples
    --------
    >>> month("2024-02")
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    m = _MONTH_RE.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ConfigError(f"month: expected YYYY-MM (e.g. 2023-07), found {text!r}.")
    year, mon = int(m.group(1)), int(m.group(2))
    return date(year, mon, 1), _month_end(year, mon)


def _fy_start_year(first: str, second: str, text: str, what: str) -> int:
    start_year = int(first)
    expected = start_year + 1
    found = int(second) if len(second) == 4 else (start_year // 100) * 100 + int(second)
    if len(second) == 2 and found < start_year:
        found += 100
    if found != expected:
        raise ConfigError(
            f"{what}: the second year of {text!r} should be {expected} "
            f"(a financial year runs April {start_year} to March {expected})."
        )
    return start_year


def financial_year(text: str) -> tuple[date, date]:
    """Return 1 April to 31 March of an NHS financial year given as ``"2023-24"``.

    Parameters
    ----------
    text
        The financial year, ``"YYYY-YY"`` or ``"YYYY-YYYY"``.

    Returns
    -------
    tuple of datetime.date
        ``(start, end)``, both inclusive.

    Raises
    ------
    ConfigError
        If the text is malformed or the two years are not consecutive.

    Notes
    -----
    Annual reports are by financial year (national-annual-figures.csv, column ``year``).

    Examples
    --------
    >>> financial_year("2023-24")
    (datetime.date(2023, 4, 1), datetime.date(2024, 3, 31))
    >>> financial_year("1999-2000")
    (datetime.date(1999, 4, 1), datetime.date(2000, 3, 31))
    """
    m = _FY_RE.match(str(text).strip())
    if not m:
        raise ConfigError(f"financial year: expected YYYY-YY (e.g. 2023-24), found {text!r}.")
    y = _fy_start_year(m.group(1), m.group(2), str(text), "financial year")
    return date(y, 4, 1), date(y + 1, 3, 31)


def quarter(fy: str, q: int) -> tuple[date, date]:
    """Return the dates of quarter ``q`` (1 to 4) of a financial year.

    Parameters
    ----------
    fy
        The financial year, e.g. ``"2023-24"``.
    q
        The quarter: 1 is April to June, 4 is January to March.

    Returns
    -------
    tuple of datetime.date
        ``(start, end)``, both inclusive.

    Raises
    ------
    ConfigError
        If the year is malformed or ``q`` is not 1 to 4.

    Notes
    -----
    NHS financial-year quarters start in April (Q1 April–June).

    Examples
    --------
    >>> quarter("2023-24", 4)
    (datetime.date(2024, 1, 1), datetime.date(2024, 3, 31))
    """
    if q not in (1, 2, 3, 4):
        raise ConfigError(f"quarter: expected 1, 2, 3 or 4, found {q!r}.")
    start, _ = financial_year(fy)
    first_month = 4 + 3 * (q - 1)
    year = start.year + (first_month - 1) // 12
    mon = (first_month - 1) % 12 + 1
    return date(year, mon, 1), _month_end(year, mon + 2)


def check_period(start: date, end: date) -> tuple[date, date]:
    """Return ``(start, end)`` if the end is not before the start.

    Raises
    ------
    ConfigError
        If ``end`` is before ``start``.

    Examples
    --------
    >>> check_period(date(2024, 4, 1), date(2024, 3, 31))
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: period: the end 2024-03-31 is before the start 2024-04-01.
    """
    if end < start:
        raise ConfigError(f"period: the end {end} is before the start {start}.")
    return start, end


def parse_period(text: str) -> tuple[date, date]:
    """Parse a period written as a month, a financial year or a quarter.

    Accepted forms: ``"2023-07"`` (a month), ``"2023-24"`` (a financial year),
    ``"2023-24 Q2"`` (a quarter), ``"2023-04-01..2023-06-30"`` (explicit dates).

    Parameters
    ----------
    text
        The period.

    Returns
    -------
    tuple of datetime.date
        ``(start, end)``, both inclusive.

    Raises
    ------
    ConfigError
        If the text is none of the accepted forms, or the end is before the start.

    Notes
    -----
    A period is the closed interval ``[S, E]`` of docs/measures.md §2.

    Examples
    --------
    >>> parse_period("2023-24 Q2")
    (datetime.date(2023, 7, 1), datetime.date(2023, 9, 30))
    >>> parse_period("2023-04-01..2023-04-30")
    (datetime.date(2023, 4, 1), datetime.date(2023, 4, 30))
    """
    s = str(text).strip()
    if ".." in s:
        a, b = s.split("..", 1)
        start, end = parse_date(a, what="period start"), parse_date(b, what="period end")
        if end < start:
            raise ConfigError(f"period {text!r}: the end {end} is before the start {start}.")
        return start, end
    qm = _QUARTER_RE.match(s)
    if qm:
        return quarter(f"{qm.group(1)}-{qm.group(2)}", int(qm.group(3)))
    mm = _MONTH_RE.match(s)
    if mm and len(mm.group(2)) == 2 and 1 <= int(mm.group(2)) <= 12:
        # "2023-12" is ambiguous with a financial year "2023-24"; a month number 1-12 wins only
        # when the second part is not the next year's last two digits.
        next_yy = (int(mm.group(1)) + 1) % 100
        if int(mm.group(2)) != next_yy:
            return month(s)
    if _FY_RE.match(s):
        return financial_year(s)
    raise ConfigError(
        f"period: expected a month (2023-07), a financial year (2023-24), a quarter "
        f"(2023-24 Q1) or START..END dates, found {text!r}."
    )
