"""What looks like a person in an output: identifier and date-of-birth columns, NHS numbers,
postcodes, and record-level columns (one identifier-like value per row)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "RECORD_LEVEL_MIN_ROWS",
    "is_date_of_birth_column",
    "is_identifier_column",
    "is_nhs_number",
    "is_postcode",
    "is_record_level",
]

RECORD_LEVEL_MIN_ROWS = 20
_ID_COLUMN = re.compile(
    r"^(person_?id|patient_?id|pseudo_?id|nhs_?(no|num|number)|nhsnumber|local_?patient_?id"
    r"|recordnumber|record_?id|mpi)$",
    re.IGNORECASE,
)
_DOB_COLUMN = re.compile(r"(birth|^dob$|_dob$|^dob_)", re.IGNORECASE)
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
_NHS_NUMBER = re.compile(r"^\d{3} ?\d{3} ?\d{4}$")
_ID_LIKE_VALUE = re.compile(r"^(?=(?:.*\d){4})[A-Za-z0-9_-]{8,}$")


def is_identifier_column(name: str) -> bool:
    """Whether a column is named like a person identifier (Person_ID, NHS number, ...).

    Examples
    --------
    >>> is_identifier_column("Person_ID"), is_identifier_column("provider_id")
    (True, False)
    """
    return bool(_ID_COLUMN.match(name))


def is_date_of_birth_column(name: str) -> bool:
    """Whether a column is named like a date of birth.

    Examples
    --------
    >>> is_date_of_birth_column("date_of_birth"), is_date_of_birth_column("dob_year")
    (True, True)
    """
    return bool(_DOB_COLUMN.search(name))


def is_postcode(text: str) -> bool:
    """Whether ``text`` is shaped like a full UK postcode.

    Examples
    --------
    >>> is_postcode("LS1 4AP"), is_postcode("LS1")
    (True, False)
    """
    return bool(_POSTCODE.match(text))


def is_nhs_number(text: str) -> bool:
    """Whether ``text`` is a 10-digit NHS number with a valid modulus-11 check digit.

    Notes
    -----
    NHS Data Dictionary, "NHS NUMBER": weights 10..2 on the first nine digits; check digit
    ``11 - (sum mod 11)``, 11 becomes 0 and 10 is invalid.

    Examples
    --------
    >>> is_nhs_number("943 476 5919"), is_nhs_number("9434765918")
    (True, False)
    """
    if not _NHS_NUMBER.match(text.strip()):
        return False
    digits = [int(c) for c in text if c.isdigit()]
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


def is_record_level(texts: Sequence[str]) -> bool:
    """Many rows, each with its own identifier-like value (one row per person or referral).

    Examples
    --------
    >>> is_record_level([f"P{i:07d}" for i in range(RECORD_LEVEL_MIN_ROWS)])
    True
    >>> is_record_level(["P0000001", "P0000002"])
    False
    """
    nonblank = [t for t in texts if t]
    return (
        len(texts) >= RECORD_LEVEL_MIN_ROWS
        and len(nonblank) == len(texts)
        and len(set(nonblank)) == len(texts)
        and all(_ID_LIKE_VALUE.match(t) for t in nonblank)
    )
