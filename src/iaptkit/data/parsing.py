"""How raw text parses into the schema's types, the same on DuckDB and Spark.

Types follow ``docs/data-model.md`` and :mod:`iaptkit.data.schema`: codes stay text
(``02`` stays ``02``), identifiers lose blanks around them (``" PW1 "`` is ``PW1``), dates are
parsed (a timestamp's date part is used), booleans accept the usual spellings, scores stay raw
text and parse (in the measures) by :data:`SCORE_PATTERN`. A value that does not parse becomes
null in :meth:`iaptkit.data.extract.Extract.table` and is counted by validation
(:mod:`iaptkit.data.validation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import ibis
import ibis.expr.types as ir

from iaptkit.data.schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    IDENTIFIER_FIELDS,
    ORG_CODE_FIELDS,
    FieldSpec,
)
from iaptkit.data.text import strip_to_null, trim_text

__all__ = ["IBIS_TYPES", "SCORE_PATTERN", "already_typed", "typed_column"]

#: ibis type of each schema field type.
IBIS_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "int": "int64",
        "str": "string",
        "code": "string",
        "score": "string",
        "date": "date",
        "bool": "boolean",
    }
)

_INT_PATTERN = r"^[+-]?[0-9]+(\.0*)?$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$"

#: What parses as a score: optional sign, up to 8 integer digits, up to 4 decimals
#: (docs/measures.md §1 Scores; validation and the measures both read scores by it).
SCORE_PATTERN = r"^[+-]?([0-9]{1,8}(\.[0-9]{0,4})?|\.[0-9]{1,4})$"


def already_typed(column: ir.Value, spec: FieldSpec) -> bool:
    """Whether ``column`` already holds ``spec``'s type (integer or date), so no text parsing.

    Its text form matches the pattern :func:`typed_column` accepts (dates: years 1 to 9999)
    and parses back to the same value, so a cast gives the same result as the text route.

    Parameters
    ----------
    column
        A source column as read (e.g. a parquet integer or date column).
    spec
        The field it holds.

    Returns
    -------
    bool
    """
    dtype = column.type()
    if spec.type == "int":
        # uint64 may not fit int64, where the text route gives null rather than an error
        return bool(dtype.is_signed_integer() or (dtype.is_unsigned_integer() and dtype.nbytes < 8))
    if spec.type == "date":
        return bool(dtype.is_date())
    return False


def typed_column(value: ir.StringValue, spec: FieldSpec) -> ir.Value:
    """Convert a raw text column to the type of ``spec`` with try-casts (bad values -> null).

    Parameters
    ----------
    value
        The raw column, as text.
    spec
        The field; its ``type`` decides the conversion.

    Returns
    -------
    ibis.Value
        ``int`` -> int64 (``"12"``, ``" 12 "``, ``"12.0"``); ``date`` -> date (ISO date or
        timestamp, date part); ``bool`` -> boolean (``schema.BOOL_TRUE``/``BOOL_FALSE``, any
        case); identifiers (``schema.IDENTIFIER_FIELDS``) -> text without blanks at either
        end, blank -> null, organisation codes (``schema.ORG_CODE_FIELDS``) upper case;
        other ``str``/``code``/``score`` -> text unchanged (compared after trimming),
        blank -> null.

    Notes
    -----
    Types and spellings from ``docs/data-model.md`` ("Where an extract lives").
    The same expression runs on DuckDB and Spark, so both engines agree on what parses.

    Examples
    --------
    >>> import ibis
    >>> from iaptkit.data.schema import FieldSpec
    >>> t = ibis.memtable({"x": ["02", " 12 ", "12.0", "1.5", "2024-07-01 10:00:00"]})
    >>> con = ibis.duckdb.connect()
    >>> ints = con.execute(typed_column(t.x, FieldSpec("x", "int"))).tolist()
    >>> [None if v != v else int(v) for v in ints]
    [2, 12, 12, None, None]
    >>> con.execute(typed_column(t.x, FieldSpec("x", "code"))).tolist()[0]
    '02'
    >>> str(con.execute(typed_column(t.x, FieldSpec("x", "date"))).tolist()[4])[:10]
    '2024-07-01'
    """
    kind = spec.type
    if spec.name in ORG_CODE_FIELDS:  # ODS codes are upper case: "raa" is the provider RAA
        return strip_to_null(value).upper()
    if spec.name in IDENTIFIER_FIELDS:  # blanks around an identifier are not part of it
        return strip_to_null(value)
    if kind in ("str", "code", "score"):
        # A value whose first character sorts after the space (every printable character, and
        # every multi-byte one) is not blank: keep it without running the trimming regular
        # expression. Only empty, null and blank-led values take the (exact) slow route.
        blank = trim_text(value).length() == 0
        slow = ibis.ifelse(blank, ibis.null("string"), value)
        return ibis.ifelse(value.substr(0, 1) > ibis.literal(" "), value, slow)
    trimmed = trim_text(value)
    if kind == "int":
        return ibis.ifelse(
            trimmed.re_search(_INT_PATTERN),
            trimmed.re_replace(r"\.0*$", "").try_cast("int64"),
            ibis.null("int64"),
        )
    if kind == "date":
        return ibis.ifelse(
            trimmed.re_search(_DATE_PATTERN),
            trimmed.substr(0, 10).try_cast("date"),
            ibis.null("date"),
        )
    if kind == "bool":
        lowered = trimmed.lower()
        return ibis.cases(
            (lowered.isin(BOOL_TRUE), ibis.literal(True)),
            (lowered.isin(BOOL_FALSE), ibis.literal(False)),
            else_=ibis.null("boolean"),
        )
    raise ValueError(f"unknown field type {kind!r} of field {spec.name}")  # pragma: no cover
