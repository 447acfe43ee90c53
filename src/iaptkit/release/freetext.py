"""Identifiers inside free text: NHS numbers, postcodes, dates of birth and person-level
identifiers anywhere in a text cell, a notebook's markdown or output, or a text file.

Rules (each :func:`find_identifiers` hit is ``(rule, what)``; ``what`` is masked so a report
never repeats the identifier):

- ``nhs-number``: ten digits, spaced (3-3-4, spaces or hyphens) or not, passing the modulus-11
  check (:func:`iaptkit.release.identifiers.is_nhs_number`); invalid numbers pass.
- ``postcode``: a full UK postcode (outward code, space, inward code; in capitals the space is
  optional).
- ``date-of-birth``: a full date (``12/03/1987``, ``1987-03-12``, ``12 March 1987``,
  ``14-Jul-1985``, and ``14 Jul 85`` after a birth word) or a year after a birth word (``DOB``,
  ``born``, ``date of birth``, ``birth date``), or any full date before
  :data:`SERVICE_START_YEAR` (before the service's records begin, so it cannot be a reporting
  period). Period dates (``2024-03-31``, ``April 2024``) pass.
- ``person-identifier``: a token with at least four digits after a person-identifier word
  (``Person_ID``, ``patient id``, ``pseudo id``, ``MRN``, ``hospital number``, ``NHS no``,
  ``client id``, ``service user id``, ``record id``), or a synthetic ``PSN`` person id.
"""

from __future__ import annotations

import re

from iaptkit.release.identifiers import is_nhs_number

__all__ = ["SERVICE_START_YEAR", "find_identifiers", "find_small_counts", "mask"]

#: IAPT (NHS Talking Therapies) began in 2008: an earlier full date is not a reporting period
SERVICE_START_YEAR = 2008

_NHS = re.compile(r"(?<![\w.,/-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w/-]|[.,]\d)")
_POSTCODE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})(?![A-Za-z0-9])")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_FULL_DATE = re.compile(
    r"(?<!\d)(?:"
    r"(?P<d1>\d{1,2})[/.-](?P<m1>\d{1,2})[/.-](?P<y1>(?:19|20)\d{2})"
    r"|(?P<y2>(?:19|20)\d{2})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?[\s/-]+{_MONTHS}\.?,?[\s/-]+(?P<y3>(?:19|20)\d{{2}})"
    rf"|{_MONTHS}\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>(?:19|20)\d{{2}})"
    r")(?!\d)",
    re.IGNORECASE,
)
_BIRTH_WORD = re.compile(
    r"(\bd\.?\s?o\.?\s?b\b|\bborn\b|date\s+of\s+birth|birth\s*date|\bbirthday\b|\bb\.\s)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
_ID_WORD = re.compile(
    r"(person[\s_-]?id|patient[\s_-]?(?:id|no|number)|pseudo(?:nymised)?[\s_-]?id|\bmrn\b"
    r"|hospital[\s_-]?(?:no|number)|nhs[\s_-]?(?:no|num|number)\b|client[\s_-]?id"
    r"|service[\s_-]?user[\s_-]?id|record[\s_-]?id|local[\s_-]?patient[\s_-]?id)"
    r"\s*[:=#.]?\s*(?:is\s+)?(?P<token>[A-Za-z0-9][A-Za-z0-9_-]{3,})",
    re.IGNORECASE,
)
_POSTCODE_SPACED = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]? [0-9][A-Za-z]{2})(?![A-Za-z0-9])"
)
_SHORT_DATE = re.compile(
    rf"(?<!\d)\d{{1,2}}[/.\s-]+(?:\d{{1,2}}|{_MONTHS})\.?[/.\s-]+\d{{2}}(?!\d)", re.IGNORECASE
)
_PSN = re.compile(r"(?<![A-Za-z0-9])PSN\d{6,}(?![A-Za-z0-9])")


def mask(text: str) -> str:
    """Keep the first two and last character of an identifier, the rest as ``*``.

    Examples
    --------
    >>> mask("943 476 5919")
    '94*********9'
    """
    text = text.strip()
    return text[:2] + "*" * max(len(text) - 3, 0) + text[-1:] if len(text) > 3 else "***"


def _birth_context(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 40) : start]
    after = text[end : end + 15]
    return bool(_BIRTH_WORD.search(before) or re.search(r"^\s*\(?\s*(dob|d\.o\.b)", after, re.I))


def find_identifiers(text: str) -> list[tuple[str, str]]:
    """Identifier hits in one piece of free text (see module docstring), in text order.

    Examples
    --------
    >>> find_identifiers("Seen 3/4; NHS 943 476 5919, lives LS1 4AP, DOB 12/03/1987.")
    [('nhs-number', '94*********9'), ('postcode', 'LS****P'), ('date-of-birth', '12*******7')]
    >>> find_identifiers("Referrals 2024-03-31: 1234567890 (invalid check digit), 15 people")
    []
    """
    if not text or not any(c.isdigit() for c in text):
        return []
    hits: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, rule: str) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        hits.append((start, rule, mask(text[start:end])))

    for m in _ID_WORD.finditer(text):
        if sum(c.isdigit() for c in m.group("token")) >= 4:
            digits = re.sub(r"\D", "", m.group("token"))
            rule = "nhs-number" if len(digits) == 10 and is_nhs_number(digits) else None
            add(m.start("token"), m.end("token"), rule or "person-identifier")
    for m in _NHS.finditer(text):
        if is_nhs_number("".join(m.groups())):
            add(m.start(), m.end(), "nhs-number")
    for m in _PSN.finditer(text):
        add(m.start(), m.end(), "person-identifier")
    for m in _FULL_DATE.finditer(text):
        year = int(
            next(g for g in (m.group("y1"), m.group("y2"), m.group("y3"), m.group("y4")) if g)
        )
        if year < SERVICE_START_YEAR or _birth_context(text, m.start(), m.end()):
            add(m.start(), m.end(), "date-of-birth")
    for m in _YEAR.finditer(text):
        if _BIRTH_WORD.search(text[max(0, m.start() - 25) : m.start()]):
            add(m.start(), m.end(), "date-of-birth")
    for m in _SHORT_DATE.finditer(text):
        if _birth_context(text, m.start(), m.end()):
            add(m.start(), m.end(), "date-of-birth")
    for pattern in (_POSTCODE, _POSTCODE_SPACED):
        for m in pattern.finditer(text):
            add(m.start(1), m.end(1), "postcode")
    return [(rule, what) for _, rule, what in sorted(hits)]


_PEOPLE = (
    r"(?:people|persons?|patients?|clients?|service\s+users?|individuals?|referrals?|adults?"
    r"|children|men|women|cases?|pathways?|users?)"
)
_COUNT_OF_PEOPLE = re.compile(
    rf"(?<![\w.,/-])(\d+)(?![\w.,/%-]|\.\d)\s+(?:\w+\s+){{0,2}}?{_PEOPLE}\b", re.IGNORECASE
)


def find_small_counts(text: str, threshold: int, zeros: bool) -> list[int]:
    """Counts of people written in text (``3 people``, ``2 new referrals``) inside a policy's
    suppressed range (``0 < n < threshold``, and 0 when ``zeros``).

    Examples
    --------
    >>> find_small_counts("Recovery was 3 people in R2B; 150 patients; 6 weeks", 10, True)
    [3]
    """
    found = []
    for m in _COUNT_OF_PEOPLE.finditer(text):
        n = int(m.group(1))
        if 0 < n < threshold or (n == 0 and zeros):
            found.append(n)
    return found
