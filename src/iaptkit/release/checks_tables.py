"""The table rules of the file checks: identifiers (whole cells and inside free text, see
:mod:`iaptkit.release.freetext`), small and unrounded counts, record-level rows.

Count rules apply to count-like columns only: whole numbers >= 0 (``*`` and other suppression
marks allowed) in a column not named like an id, code, date, rate, percentage, mean, score, age
or decile. Locations: ``row N`` counts data rows from 1 (the header line is not a row),
``column NAME``, ``sheet NAME`` for workbooks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from iaptkit.release.findings import Finding, PolicyFacts
from iaptkit.release.freetext import find_identifiers, mask
from iaptkit.release.identifiers import (
    is_date_of_birth_column,
    is_identifier_column,
    is_nhs_number,
    is_postcode,
    is_record_level,
)

__all__ = ["check_frame", "check_table_file"]

_NOT_COUNT_COLUMN = re.compile(
    r"(id$|_id|code|year|month|date|rate|pct|percent|per_|ratio|mean|median|score|age|decile"
    r"|ci_|lower|upper|version|quintile|rank|order|index|^period|^family$)",
    re.IGNORECASE,
)
_PLAIN_NUMBER = re.compile(r"-?[\d,]*\.?\d*")
_SUPPRESSED_MARKS = frozenset({"*", "[c]", "c", "x", "..", "-", "<5", "<10", "suppressed"})


def _as_int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(float(text))
    return None


def _count_like(name: str, values: pd.Series) -> bool:
    if _NOT_COUNT_COLUMN.search(name) or is_identifier_column(name):
        return False
    present = [str(v).strip() for v in values if str(v).strip() not in ("", "nan", "<NA>")]
    numbers = [v for v in present if v.lower() not in _SUPPRESSED_MARKS]
    if not numbers:
        return False
    ints = [_as_int(v) for v in numbers]
    return all(i is not None and i >= 0 for i in ints)


def check_frame(
    frame: pd.DataFrame, file: str, facts: PolicyFacts, *, where: str = ""
) -> list[Finding]:
    """The table rules on one DataFrame (all values as read, strings allowed).

    Examples
    --------
    >>> facts = PolicyFacts("p", "1", 10, True, 5, "all")
    >>> frame = pd.DataFrame({"provider": ["A", "B"], "count": ["3", "15"]})
    >>> [(f.rule, f.location) for f in check_frame(frame, "t.csv", facts)]
    [('small-count', 'row 1, column count')]
    """
    findings: list[Finding] = []
    prefix = f"{where}, " if where else ""

    def add(location: str, rule: str, severity: str, message: str) -> None:
        findings.append(Finding(file, prefix + location, rule, severity, message))

    nrows = len(frame)
    texts_of = {
        str(col): [("" if pd.isna(v) else str(v).strip()) for v in frame[col]]
        for col in frame.columns
    }
    record_cols = {name for name, texts in texts_of.items() if is_record_level(texts)}
    for col in frame.columns:
        name = str(col)
        values = frame[col]
        texts = texts_of[name]
        if is_identifier_column(name):
            add(f"column {name}", "identifier-column", "fail", "person identifier column")
            continue
        if is_date_of_birth_column(name):
            add(f"column {name}", "date-of-birth", "fail", "date of birth column")
            continue
        before = len(findings)
        for i, text in enumerate(texts, start=1):
            if text and is_nhs_number(text):
                add(f"row {i}, column {name}", "nhs-number", "fail", "valid NHS number")
            elif text and is_postcode(text):
                add(
                    f"row {i}, column {name}", "postcode", "fail", f"postcode-shaped {mask(text)!r}"
                )
            elif text and not _PLAIN_NUMBER.fullmatch(text):
                for rule, what in find_identifiers(text):
                    add(f"row {i}, column {name}", rule, "fail", f"{rule} in the text ({what})")
        if name in record_cols:
            add(
                f"column {name}",
                "record-level",
                "fail",
                f"{nrows} rows, each with a unique identifier-like value: record-level data",
            )
            continue
        # once rows are people, or values identifiers, the count rules say nothing more
        if record_cols or len(findings) > before or not _count_like(name, values):
            continue
        for i, text in enumerate(texts, start=1):
            number = _as_int(text)
            if number is None:
                continue
            if facts.suppressed(number):
                add(
                    f"row {i}, column {name}",
                    "small-count",
                    "fail",
                    f"count {number} inside the suppressed range of policy {facts.id} "
                    f"(under {facts.threshold}{', zeros too' if facts.zeros_suppressed else ''})",
                )
            elif facts.rounding_applies_to != "none" and number % facts.rounding_base:
                severity = "fail" if facts.rounding_applies_to == "all" else "review"
                add(
                    f"row {i}, column {name}",
                    "unrounded-count",
                    severity,
                    f"count {number} is not rounded to the nearest {facts.rounding_base} "
                    f"(policy {facts.id} rounds {facts.rounding_applies_to} counts)",
                )
    return findings


def check_table_file(path: Path, facts: PolicyFacts) -> list[Finding]:
    """The table rules on a CSV file or on every sheet of an Excel workbook (all as text)."""
    name = str(path)
    try:
        if path.suffix.lower() == ".csv":
            sheets = {"": pd.read_csv(path, dtype=str, keep_default_na=False)}
        else:
            sheets = {
                f"sheet {k}": v
                for k, v in pd.read_excel(path, sheet_name=None, dtype=str, header=0).items()
            }
    except Exception as exc:
        return [Finding(name, "file", "unreadable", "fail", f"cannot be read as a table: {exc}")]
    findings: list[Finding] = []
    for where, frame in sheets.items():
        findings.extend(check_frame(frame, name, facts, where=where))
    return findings
