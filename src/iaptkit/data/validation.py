"""Validate an extract: one report with every problem, by rule, table and column.

Validation is lazy in pandera's sense: every rule runs and every failure is reported, never
stopping at the first. The rules are :mod:`iaptkit.data.validation_rules` (one table at a time)
and :mod:`iaptkit.data.validation_cross` (across tables); the report and the rule ids are
:mod:`iaptkit.data.validation_report`.
"""

from __future__ import annotations

from iaptkit.data.schema import TABLES
from iaptkit.data.sources import TableAccess
from iaptkit.data.validation_cross import cross_rules
from iaptkit.data.validation_report import (
    RULES,
    SEVERITIES,
    Problem,
    ProblemCollector,
    ValidationReport,
)
from iaptkit.data.validation_rules import table_rules
from iaptkit.definitions.loading import load_definitions
from iaptkit.definitions.model import Definitions

# The report's names are named here too, for callers that import them from this module.
__all__ = ["RULES", "SEVERITIES", "Problem", "ValidationReport", "validate"]


def validate(
    extract: TableAccess, *, definitions: Definitions | None = None, max_examples: int = 5
) -> ValidationReport:
    """Run every rule over an extract and return one report.

    Parameters
    ----------
    extract
        An opened extract (:func:`~iaptkit.data.load_extract`).
    definitions
        Measure definitions for score ranges and tools; the packaged default when ``None``.
    max_examples
        Example keys kept per problem.

    Returns
    -------
    ValidationReport
        Every problem, in rule order (fatal first), with row counts per table.

    Notes
    -----
    Rules and severities: :data:`RULES`; the contract checked is
    ``docs/data-model.md`` (tables, fields, code lists, monthly resubmission) and the
    score ranges of ``docs/measures.md`` §4.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS201CareContact": pd.DataFrame({
    ...     "UniqueSubmissionID": ["1"], "Unique_MonthID": ["1492"], "OrgID_Provider": ["R1A"],
    ...     "PathwayID": ["P1"], "CareContactId": ["C1"], "CareContDate": ["2024-02-30"],
    ...     "AppType": ["2"], "AttendOrDNACode": ["5"], "PlannedCareContIndicator": ["Y"]})})
    >>> report = validate(ex)
    >>> sorted(report.counts()["code_not_in_list"].items())
    [('IDS201CareContact.AppType', 1)]
    >>> report.counts()["unparseable_date"]
    {'IDS201CareContact.CareContDate': 1}
    >>> report.fatal   # IDS001MPI and IDS101Referral are missing
    True
    >>> ex.close()
    """
    if definitions is None:
        definitions = load_definitions()
    out = ProblemCollector([], max_examples)
    for spec in TABLES.values():
        if spec.required and spec.name not in extract.tables:
            out.add(
                "missing_table",
                spec.name,
                None,
                0,
                f"Required table {spec.name} is missing from {extract.source}; tables "
                f"present: {', '.join(extract.table_names()) or 'none'}.",
            )
    for name in extract.unknown_files:
        out.add(
            "unknown_file",
            name,
            None,
            1,
            f"{name} in {extract.source} is not an IDS table (expected "
            "<TableName>.parquet|.csv|.csv.gz|.txt); it is not read.",
        )
    rows: dict[str, int] = {}
    for name in extract.table_names():
        rows[name] = table_rules(extract, TABLES[name], out, definitions)
        if rows[name] == 0:
            out.add(
                "empty_table",
                name,
                None,
                0,
                f"Table {name} in {extract.source} has no rows: expected at least one "
                f"({TABLES[name].grain}); the measures read it as nobody having any.",
            )
    cross_rules(extract, out)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    rule_order = {r: i for i, r in enumerate(RULES)}
    table_order = {t: i for i, t in enumerate(TABLES)}
    problems = sorted(
        out.problems,
        key=lambda p: (
            order[p.severity],
            rule_order[p.rule],
            table_order.get(p.table, len(table_order)),
            p.column or "",
        ),
    )
    return ValidationReport(
        source=extract.source,
        problems=tuple(problems),
        table_rows=rows,
        definitions_version=definitions.version,
    )
