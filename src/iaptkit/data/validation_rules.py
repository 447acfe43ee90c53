"""Validation rules of one table at a time: parsing, code lists, scores, dates in order.

Each table's rules are one SQL aggregate (ibis on DuckDB or Spark), so an extract of millions
of rows validates in seconds; examples are fetched only for rules that fail. The contract
checked is ``docs/data-model.md`` (fields, types, code lists) and the score ranges of
``docs/measures.md`` §4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.parsing import SCORE_PATTERN, typed_column
from iaptkit.data.schema import CODE_LISTS, TableSpec
from iaptkit.data.sources import TableAccess
from iaptkit.data.text import read_code, trim_text
from iaptkit.data.validation_report import ProblemCollector, rows_text
from iaptkit.definitions.model import Definitions

__all__ = ["table_rules"]

_PARSE_RULES: Mapping[str, str] = MappingProxyType(
    {"int": "unparseable_int", "date": "unparseable_date", "bool": "invalid_bool"}
)
#: Rules whose message also names the table's file(s).
_NAMING_FILE = frozenset(
    {
        "missing_pathway_id",
        "missing_referral_date",
        "missing_contact_date",
        "imd_out_of_range",
        "age_out_of_range",
        "score_not_integer",
    }
)
#: The age columns banded by the breakdowns, by table.
_AGE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"IDS101Referral": "Age_ReferralRequest_ReceivedDate", "IDS001MPI": "Age_RP_EndDate"}
)
#: Control characters (C0 but tab, line ends, vertical tab and form feed, and DEL): regex escapes,
#: read by DuckDB's RE2 and Spark's Java regex alike.
_CONTROL_PATTERN = r"[\x00-\x08\x0e-\x1f\x7f]"
_SCORE_TABLES = ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct")
_NUMERIC_PREFIXES = ("int", "uint", "float", "double", "decimal", "bigint", "smallint", "tinyint")


def _example_keys(spec: TableSpec, present: Sequence[str]) -> list[str]:
    preferred = [c for c in ("PathwayID", "UniqueSubmissionID") if c in present]
    rest = [c for c in spec.key if c in present and c not in preferred]
    return (preferred + rest)[:3]


def _sum(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.fill_null(False).cast("int64").sum().fill_null(0)


def table_rules(
    extract: TableAccess,
    spec: TableSpec,
    out: ProblemCollector,
    definitions: Definitions | None,
) -> int:
    """Run the per-column rules of one table, adding what fails to ``out``.

    Parameters
    ----------
    extract
        The opened extract (its raw, as-read table is checked).
    spec
        The table's schema.
    out
        Where problems are recorded.
    definitions
        Measure definitions for score ranges and tools (score tables); ``None`` skips them.

    Returns
    -------
    int
        The table's row count.
    """
    src = extract.tables[spec.name]
    raw = extract.raw(spec.name)
    present = [f for f in spec.fields if f.name in src.columns]
    for required in spec.required_fields:
        if required not in src.columns:
            out.add(
                "missing_column",
                spec.name,
                required,
                0,
                f"Required column {required} is missing from {src.location}; columns present: "
                f"{', '.join(src.columns.values())}.",
            )
    checks: dict[str, tuple[str, str, ir.BooleanValue]] = {}
    for f in present:
        value = raw[f.name]
        has_text = value.notnull() & (trim_text(value).length() > 0)
        if f.type in _PARSE_RULES:
            bad = has_text & typed_column(value, f).isnull()
            expected = {
                "int": "a whole number",
                "date": "an ISO date YYYY-MM-DD (or a timestamp)",
                "bool": "true/false, 1/0, Y/N",
            }[f.type]
            checks[f"{_PARSE_RULES[f.type]}|{f.name}"] = (f.name, expected, bad)
        if f.type == "code" and f.code_list is not None:
            allowed = sorted(CODE_LISTS[f.code_list])
            # compared as the measures read it: " a" is A; an EndCode 10.0 is 10 (cohorts.py)
            code = read_code(value, decimal=f.numeric_code)
            bad = has_text & ~code.isin([a.upper() for a in allowed])
            checks[f"code_not_in_list|{f.name}"] = (f.name, ", ".join(allowed), bad)
        if f.type == "score":
            bad = has_text & ~trim_text(value).re_search(SCORE_PATTERN)
            checks[f"score_unparseable|{f.name}"] = (f.name, "a plain decimal number", bad)
        if f.type in ("str", "code"):
            # NUL and other control bytes in text: a damaged file (blanks are trimmed elsewhere)
            bad = value.notnull() & value.re_search(_CONTROL_PATTERN)
            checks[f"control_characters|{f.name}"] = (f.name, "text", bad)
    names = {f.name for f in present}
    if "PathwayID" in names:
        checks["missing_pathway_id|PathwayID"] = (
            "PathwayID",
            "a PathwayID",
            _blank(raw.PathwayID),
        )
    if spec.name == "IDS101Referral" and "ReferralRequestReceivedDate" in names:
        checks["missing_referral_date|ReferralRequestReceivedDate"] = (
            "ReferralRequestReceivedDate",
            "a date (YYYY-MM-DD)",
            _blank(raw.ReferralRequestReceivedDate),
        )
    if spec.name == "IDS201CareContact" and "CareContDate" in names:
        checks["missing_contact_date|CareContDate"] = (
            "CareContDate",
            "a date (YYYY-MM-DD)",
            _blank(raw.CareContDate),
        )
    if spec.name == "IDS001MPI" and "IndicesOfDeprivationDecile" in names and definitions:
        b = definitions.breakdowns
        decile = typed_column(
            raw.IndicesOfDeprivationDecile, spec.field("IndicesOfDeprivationDecile")
        )
        checks["imd_out_of_range|IndicesOfDeprivationDecile"] = (
            "IndicesOfDeprivationDecile",
            f"a decile {b.imd_min}-{b.imd_max}",
            decile.notnull() & ~decile.between(b.imd_min, b.imd_max),
        )
    age_column = _AGE_COLUMNS.get(spec.name)
    if age_column in names and age_column is not None and definitions is not None:
        youngest = min(band.minimum for band in definitions.breakdowns.age_bands)
        age = typed_column(raw[age_column], spec.field(age_column))
        checks[f"age_out_of_range|{age_column}"] = (
            age_column,
            f"an age of at least {youngest} (breakdowns.age_bands)",
            age.notnull() & (age < youngest),
        )
    if spec.name in _SCORE_TABLES and definitions is not None:
        _score_checks(raw, present, definitions, checks)
    if spec.name == "IDS101Referral" and {"ServDischDate", "ReferralRequestReceivedDate"} <= {
        f.name for f in present
    }:
        disch = typed_column(raw.ServDischDate, spec.field("ServDischDate"))
        recv = typed_column(
            raw.ReferralRequestReceivedDate, spec.field("ReferralRequestReceivedDate")
        )
        checks["discharge_before_referral|ServDischDate"] = (
            "ServDischDate",
            "ServDischDate on or after ReferralRequestReceivedDate",
            disch < recv,
        )
    aggs: dict[str, ir.Scalar] = {"_rows": raw.count()}
    for i, (_, _, cond) in enumerate(checks.values()):
        aggs[f"_c{i}"] = _sum(cond)
    result = raw.aggregate(**aggs).execute().iloc[0]
    labels = _example_keys(spec, [f.name for f in present])
    for i, (key, (column, expected, cond)) in enumerate(checks.items()):
        rule = key.split("|")[0]
        rows = int(result[f"_c{i}"])
        sel = raw.filter(cond.fill_null(False)).select(*labels, value=raw[column])
        message = _value_message(rule, spec.name, column, rows, expected)
        if rule in _NAMING_FILE:
            message += f" File: {src.location}."
        out.add(rule, spec.name, column, rows, message, sel, [*labels, "value"])
    for f in present:
        if f.type == "code" and _is_numeric(src.source_types.get(src.columns[f.name], "")):
            out.add(
                "code_numeric_type",
                spec.name,
                f.name,
                int(result["_rows"]),
                f"{spec.name}.{f.name} arrived as a number "
                f"({src.source_types[src.columns[f.name]]}) in {src.location}: codes are text; "
                "it is kept as its text without zero-padding, so e.g. AppType 2 is not '02'.",
            )
    return int(result["_rows"])


def _score_checks(
    raw: ir.Table,
    present: Sequence[Any],
    definitions: Definitions,
    checks: dict[str, tuple[str, str, ir.BooleanValue]],
) -> None:
    names = {f.name for f in present}
    if not {"CodedAssToolType", "PersScore"} <= names:
        return
    tool = trim_text(raw.CodedAssToolType)
    text = trim_text(raw.PersScore)
    number = ibis.ifelse(
        text.re_search(SCORE_PATTERN).fill_null(False),
        text.try_cast("decimal(12, 4)"),
        ibis.null("decimal(12, 4)"),
    )
    known = sorted(
        {c for m in definitions.measures.values() for c in m.tool_codes}
        | set(definitions.catalogue.wsas_items.values())  # WSAS: family 8
    )
    branches = [
        (
            tool.isin(m.tool_codes),
            (number < ibis.literal(str(m.valid_min)).cast("decimal(12, 4)"))
            | (number > ibis.literal(str(m.valid_max)).cast("decimal(12, 4)")),
        )
        for m in definitions.measures.values()
    ]
    out_of_range = ibis.cases(*branches, else_=ibis.literal(False))
    whole = sorted(
        {c for m in definitions.measures.values() if m.whole_numbers for c in m.tool_codes}
    )
    ranges = "; ".join(
        f"{m.name} {m.valid_min}-{m.valid_max}" for m in definitions.measures.values()
    )
    checks["score_out_of_range|PersScore"] = (
        "PersScore",
        f"inside the measure's valid range ({ranges})",
        number.notnull() & out_of_range,
    )
    # in range but not a whole number, for a measure whose scores are integers ("7.5" PHQ-9)
    checks["score_not_integer|PersScore"] = (
        "PersScore",
        "a whole number (the measure's scores are integers)",
        number.notnull() & ~out_of_range & tool.isin(whole) & (number != number.floor()),
    )
    checks["unknown_score_tool|CodedAssToolType"] = (
        "CodedAssToolType",
        "a CodedAssToolType of a measure in the definitions",
        tool.notnull() & ~tool.isin(known),
    )


def _value_message(rule: str, table: str, column: str, rows: int, expected: str) -> str:
    what = {
        "unparseable_int": "do not parse as",
        "unparseable_date": "do not parse as",
        "invalid_bool": "are not",
        "code_not_in_list": "are not in the code list",
        "score_unparseable": "do not parse as",
        "score_out_of_range": "are not",
        "score_not_integer": "are not",
        "unknown_score_tool": "are not",
        "discharge_before_referral": "are not",
        "missing_pathway_id": "are blank, expected",
        "missing_referral_date": "are blank, expected",
        "missing_contact_date": "are blank, expected",
        "imd_out_of_range": "are not",
        "age_out_of_range": "are not",
        "control_characters": "hold control characters (e.g. NUL bytes); expected plain",
    }[rule]
    tail = {
        "unknown_score_tool": "; they are not used by the measures.",
        "score_out_of_range": "; they are not scores and are not used.",
        "score_not_integer": "; they are not scores and are not used.",
        "discharge_before_referral": ".",
        "missing_pathway_id": "; they belong to no pathway and are not used.",
        "missing_referral_date": (
            "; the referral has no start, so its contacts fall outside its window and are not used."
        ),
        "missing_contact_date": "; the contact has no date and is not used.",
        "imd_out_of_range": "; they are treated as Unknown.",
        "age_out_of_range": "; the referral is used, in the unknown age band.",
        "control_characters": (
            "; a damaged file? The values are used as they are, so a code among them is not in "
            "its code list."
        ),
    }.get(rule, "; they are treated as missing.")
    return f"{rows_text(rows)} of {table}.{column} {what} {expected}{tail}"


def _blank(value: ir.Value) -> ir.BooleanValue:
    """Null, empty or only blanks."""
    return value.isnull() | (trim_text(value).length() == 0)


def _is_numeric(type_name: str) -> bool:
    lowered = type_name.lower()
    return lowered.startswith(_NUMERIC_PREFIXES)
