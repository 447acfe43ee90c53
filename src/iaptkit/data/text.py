"""Blank trimming of text columns that is cheap and gives the same result on every engine.

Two trims, both written once for DuckDB and Spark:

- :func:`trim_text` removes space, tab, CR and LF at either end (how values such as booleans
  and numbers arrive as text, docs/data-model.md "Where an extract lives");
- :func:`strip_blanks` removes the ASCII whitespace of Python's ``str.strip`` (also vertical
  tab and form feed), and is what the derivations compare codes with.

Most values have no blank at either end. Both trims test the first and last character and
only run the regular expression for the few values that need it, which is several times
faster than ``TRIM`` with a character list on tens of millions of rows.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["read_code", "strip_blanks", "strip_to_null", "trim_text"]

#: What :func:`trim_text` removes at either end.
_BLANK_ENDS = "^[ \t\r\n]+|[ \t\r\n]+$"

#: What :func:`strip_blanks` removes: Python's ASCII whitespace. The vertical tab and form feed
#: are written as the regular-expression escapes ``\x0b`` and ``\x0c`` (a backslash in the
#: pattern): as characters, they reach Spark's SQL text as ``'\v'`` and ``'\f'``, which Spark
#: reads as the letters ``v`` and ``f``. Both engines' regular expressions read ``\x0b``.
_WHITESPACE_ENDS = "^[ \t\n\r\\x0b\\x0c]+|[ \t\n\r\\x0b\\x0c]+$"


def _ends_plain(value: ir.StringValue) -> ir.BooleanValue:
    """True when the first and last characters sort after the space (so neither is a blank).

    Every blank removed here sorts before the space or is the space; every printable and every
    multi-byte character sorts after it. Null and empty values are not plain.
    """
    space = ibis.literal(" ")
    plain = (value.substr(0, 1) > space) & (value.right(1) > space)
    result: ir.BooleanValue = plain.fill_null(False)
    return result


def trim_text(value: ir.StringValue) -> ir.StringValue:
    """Remove leading and trailing blanks (space, tab, CR, LF), the same on every engine.

    ibis's ``strip()`` compiles for Spark to ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``, and Spark reads
    ``'\\v'`` and ``'\\f'`` as the letters ``v`` and ``f``: ``"false"`` becomes ``"alse"``.
    This regular expression has no escapes, so DuckDB and Spark agree. It only runs for values
    with a blank (or nothing) at either end.

    Notes
    -----
    Values are compared after trimming (docs/data-model.md, "Where an extract lives"); codes
    themselves are kept exactly as received.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [" false\\t", "fv", "", None]})
    >>> ibis.duckdb.connect().execute(trim_text(t.x)).fillna("<null>").tolist()
    ['false', 'fv', '', '<null>']
    """
    trimmed: ir.StringValue = ibis.ifelse(
        _ends_plain(value), value, value.re_replace(_BLANK_ENDS, "")
    )
    return trimmed


def strip_blanks(value: ir.StringValue) -> ir.StringValue:
    """Python's ``str.strip()`` of ASCII whitespace, the same on DuckDB and Spark, and cheap.

    Removes space, tab, LF, CR, vertical tab and form feed at either end; null stays null.
    Unlike ibis's ``strip()`` on Spark, it never removes the letters ``v`` or ``f``.

    Notes
    -----
    docs/measures.md §1 compares codes (AppType, AttendOrDNACode, tool codes, scores ...) after
    removing surrounding blanks; docs/data-model.md lists such messy values among what arrives.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [" 02\\x0b", "fv", "\\t\\n", None, "a b"]})
    >>> ibis.duckdb.connect().execute(strip_blanks(t.x)).fillna("<null>").tolist()
    ['02', 'fv', '', '<null>', 'a b']
    """
    stripped: ir.StringValue = ibis.ifelse(
        _ends_plain(value), value, value.re_replace(_WHITESPACE_ENDS, "")
    )
    return stripped


def strip_to_null(value: ir.StringValue) -> ir.StringValue:
    """:func:`strip_blanks`, and null for a value that is blank (or empty).

    How identifiers are read (``PathwayID``, ``Person_ID``, ``CareContactId`` ...): a value
    with blanks around it is the same identifier (``" PW1 "`` joins ``"PW1"``), a blank one is
    none. Values with no blank at either end pass untouched (the cheap first/last test).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [" PW1 ", "PW2", " \t", "", None]})
    >>> ibis.duckdb.connect().execute(strip_to_null(t.x)).fillna("<null>").tolist()
    ['PW1', 'PW2', '<null>', '<null>', '<null>']
    """
    stripped = value.re_replace(_WHITESPACE_ENDS, "")
    slow = ibis.ifelse(stripped.length() == 0, ibis.null("string"), stripped)
    out: ir.StringValue = ibis.ifelse(_ends_plain(value), value, slow)
    return out


def read_code(value: ir.StringValue, *, decimal: bool = False) -> ir.StringValue:
    """A code as the measures compare it: no blanks around it, upper case.

    ``decimal``: also without a trailing ``.0``, for a code that may arrive as a number
    (``EndCode`` 10 written as ``10.0``). Validation checks codes against their lists in this
    form, so a value it accepts is one the measures read.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [" a ", "02", "10.0", None]})
    >>> con = ibis.duckdb.connect()
    >>> con.execute(read_code(t.x)).fillna("<null>").tolist()
    ['A', '02', '10.0', '<null>']
    >>> con.execute(read_code(t.x, decimal=True)).fillna("<null>").tolist()[2]
    '10'
    """
    code = strip_blanks(value).upper()
    if decimal:
        # the regular expression only where it can change the code (rare): a cheap test first
        code = ibis.ifelse(code.endswith(".0"), code.re_replace(r"\.0$", ""), code)
    return code
