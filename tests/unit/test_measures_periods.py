"""Reporting periods: months, financial years, quarters and parsing (iaptkit.measures.periods)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from iaptkit.errors import ConfigError
from iaptkit.measures.periods import financial_year, month, parse_date, parse_period, quarter


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2023-07", date(2023, 7, 1), date(2023, 7, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2023-12", date(2023, 12, 1), date(2023, 12, 31)),
    ],
)
def test_month(text: str, start: date, end: date) -> None:
    assert month(text) == (start, end)


@pytest.mark.parametrize("bad", ["2023-13", "2023-00", "July 2023", "2023/07", ""])
def test_month_rejects_malformed_text(bad: str) -> None:
    with pytest.raises(ConfigError, match="expected YYYY-MM"):
        month(bad)


@pytest.mark.parametrize(
    ("text", "first_year"),
    [("2023-24", 2023), ("2019-20", 2019), ("1999-00", 1999), ("2023/2024", 2023)],
)
def test_financial_year_runs_april_to_march(text: str, first_year: int) -> None:
    start, end = financial_year(text)
    assert start == date(first_year, 4, 1)
    assert end == date(first_year + 1, 3, 31)


@pytest.mark.parametrize("bad", ["2023-25", "2023-23", "23-24", "2023"])
def test_financial_year_rejects_non_consecutive_or_malformed(bad: str) -> None:
    with pytest.raises(ConfigError, match="financial year"):
        financial_year(bad)


def test_quarters_tile_the_financial_year_without_gaps() -> None:
    fy_start, fy_end = financial_year("2023-24")
    quarters = [quarter("2023-24", q) for q in (1, 2, 3, 4)]
    assert quarters[0][0] == fy_start
    assert quarters[-1][1] == fy_end
    for (_, end), (next_start, _) in itertools.pairwise(quarters):
        assert next_start == end + timedelta(days=1)
    assert quarters[1] == (date(2023, 7, 1), date(2023, 9, 30))
    assert quarters[3] == (date(2024, 1, 1), date(2024, 3, 31))


def test_quarter_rejects_bad_number() -> None:
    with pytest.raises(ConfigError, match="1, 2, 3 or 4"):
        quarter("2023-24", 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-07", (date(2023, 7, 1), date(2023, 7, 31))),
        ("2023-24", (date(2023, 4, 1), date(2024, 3, 31))),
        ("2023-24 Q3", (date(2023, 10, 1), date(2023, 12, 31))),
        ("2023-24q1", (date(2023, 4, 1), date(2023, 6, 30))),
        ("2023-04-01..2023-04-15", (date(2023, 4, 1), date(2023, 4, 15))),
        # "2011-12" reads as the financial year 2011-12, not December 2011 (documented choice)
        ("2011-12", (date(2011, 4, 1), date(2012, 3, 31))),
    ],
)
def test_parse_period(text: str, expected: tuple[date, date]) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize("bad", ["last year", "2023-04-30..2023-04-01", "2023-24 Q5"])
def test_parse_period_errors_say_what_is_expected(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_period(bad)


def test_parse_date() -> None:
    assert parse_date("2024-03-31") == date(2024, 3, 31)
    assert parse_date(date(2024, 1, 1)) == date(2024, 1, 1)
    with pytest.raises(ConfigError, match="--as-at: expected a date as YYYY-MM-DD"):
        parse_date("31/03/2024", what="--as-at")
