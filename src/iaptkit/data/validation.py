"""Validate an extract: one report with every problem, by rule, table and column.

Validation is lazy in pandera's sense: every rule runs and every failure is reported, never
stopping at the first. Each rule is an SQL aggregate (ibis on DuckDB or Spark), so an extract of
millions of rows validates in seconds; examples are fetched only for rules that fail.

Rule ids are shared with the synthetic generator, which records the faults it injects in
``_synth.json`` under the same ids (``{"faults": {rule: {"Table.Column": rows}}}``); see
:meth:`ValidationReport.counts`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir

from iaptkit.data.loading import Extract, load_extract, trim_text, typed_column
from iaptkit.data.schema import CODE_LISTS, TABLES, TableSpec
from iaptkit.data.submissions import counted_rows, exclusion_columns, exclusion_counts

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from iaptkit.definitions.model import Definitions

__all__ = [
    "RULES",
    "SEVERITIES",
    "Problem",
    "ValidationReport",
    "validate",
    "validate_command",
]

Severity = Literal["fatal", "error", "warning", "info"]

#: Severities, most serious first.
SEVERITIES: tuple[Severity, ...] = ("fatal", "error", "warning", "info")

#: Every rule id and its severity.
RULES: Mapping[str, Severity] = MappingProxyType(
    {
        "missing_table": "fatal",
        "missing_column": "fatal",
        "unparseable_date": "error",
        "unparseable_int": "error",
        "invalid_bool": "error",
        "code_not_in_list": "error",
        "code_numeric_type": "warning",
        "score_unparseable": "error",
        "score_out_of_range": "error",
        "unknown_score_tool": "info",
        "discharge_before_referral": "error",
        "orphan_pathway": "error",
        "orphan_record": "error",
        "duplicate_key": "error",
        "unknown_submission": "warning",
        "superseded_submission": "info",
        "pathway_flag_false": "info",
        "unknown_file": "info",
    }
)

_PARSE_RULES: Mapping[str, str] = MappingProxyType(
    {"int": "unparseable_int", "date": "unparseable_date", "bool": "invalid_bool"}
)
_SCORE_PATTERN = r"^[+-]?([0-9]{1,8}(\.[0-9]{0,4})?|\.[0-9]{1,4})$"
_SCORE_TABLES = ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct")
_CHILD_TABLES = (
    "IDS201CareContact",
    "IDS202CareActivity",
    "IDS205InternetTherLog",
    "IDS603PresentingComplaints",
    "IDS606CodedScoreAssessmentRefer",
    "IDS607CodedScoreAssessmentAct",
)
_NUMERIC_PREFIXES = ("int", "uint", "float", "double", "decimal", "bigint", "smallint", "tinyint")


@dataclass(frozen=True)
class Problem:
    """One validation finding.

    Parameters
    ----------
    severity
        ``fatal`` (cannot be used), ``error`` (rows are wrong and will be excluded or
        mis-measured), ``warning`` or ``info``.
    rule
        The rule id (see :data:`RULES`).
    table, column
        Where; ``column`` is ``None`` for table-level rules.
    rows
        How many rows (or, for ``missing_column``/``missing_table``, 0).
    examples
        Up to ``max_examples`` example keys, e.g. ``"PathwayID=P1 value='2023-02-30'"``.
    message
        What was expected and what was found.
    """

    severity: Severity
    rule: str
    table: str
    column: str | None
    rows: int
    examples: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in an extract, with its row counts per table.

    Examples
    --------
    >>> r = ValidationReport("demo", (Problem("error", "duplicate_key", "IDS201CareContact",
    ...     "CareContactId", 2, (), "2 duplicated rows"),), {"IDS201CareContact": 10})
    >>> r.fatal, r.counts()
    (False, {'duplicate_key': {'IDS201CareContact.CareContactId': 2}})
    """

    source: str
    problems: tuple[Problem, ...]
    table_rows: Mapping[str, int] = field(default_factory=dict)
    definitions_version: str | None = None

    @property
    def fatal(self) -> bool:
        """Whether a fatal problem exists (the extract cannot be used)."""
        return any(p.severity == "fatal" for p in self.problems)

    @property
    def ok(self) -> bool:
        """Whether there is no fatal problem and no error."""
        return not any(p.severity in ("fatal", "error") for p in self.problems)

    def by_severity(self, severity: Severity) -> tuple[Problem, ...]:
        """The problems of one severity."""
        return tuple(p for p in self.problems if p.severity == severity)

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per rule and ``Table.Column`` (``Table`` alone for table-level rules)."""
        out: dict[str, dict[str, int]] = {}
        for p in self.problems:
            where = f"{p.table}.{p.column}" if p.column else p.table
            out.setdefault(p.rule, {})[where] = out.get(p.rule, {}).get(where, 0) + p.rows
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary of the report."""
        summary = {s: len(self.by_severity(s)) for s in SEVERITIES}
        return {
            "source": self.source,
            "definitions_version": self.definitions_version,
            "fatal": self.fatal,
            "summary": summary,
            "table_rows": dict(self.table_rows),
            "problems": [{**asdict(p), "examples": list(p.examples)} for p in self.problems],
        }

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path``; return the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return out

    def render(self, console: Console) -> None:
        """Print the report as a rich table."""
        from rich.table import Table

        table = Table(title=f"Validation of {self.source}", show_lines=False)
        for col in ("severity", "rule", "table", "column", "rows", "examples", "message"):
            table.add_column(col, overflow="fold")
        colours = {"fatal": "bold red", "error": "red", "warning": "yellow", "info": "dim"}
        for p in self.problems:
            table.add_row(
                f"[{colours[p.severity]}]{p.severity}[/]",
                p.rule,
                p.table,
                p.column or "",
                f"{p.rows:,}",
                "\n".join(p.examples[:3]),
                p.message,
            )
        console.print(table)
        summary = ", ".join(f"{len(self.by_severity(s))} {s}" for s in SEVERITIES)
        console.print(f"{len(self.problems)} problems: {summary}.", highlight=False)


# --------------------------------------------------------------------------- rules


@dataclass
class _Collector:
    problems: list[Problem]
    max_examples: int

    def add(
        self,
        rule: str,
        table: str,
        column: str | None,
        rows: int,
        message: str,
        examples: ir.Table | None = None,
        labels: Sequence[str] = (),
    ) -> None:
        if rows <= 0 and rule not in ("missing_table", "missing_column"):
            return
        found: tuple[str, ...] = ()
        if examples is not None and self.max_examples > 0:
            frame = examples.limit(self.max_examples).execute()
            found = tuple(
                " ".join(f"{c}={_show(v)}" for c, v in zip(labels, row, strict=True))
                for row in frame[list(labels)].itertuples(index=False, name=None)
            )
        self.problems.append(Problem(RULES[rule], rule, table, column, int(rows), found, message))


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


def _example_keys(spec: TableSpec, present: Sequence[str]) -> list[str]:
    preferred = [c for c in ("PathwayID", "UniqueSubmissionID") if c in present]
    rest = [c for c in spec.key if c in present and c not in preferred]
    return (preferred + rest)[:3]


def _sum(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.fill_null(False).cast("int64").sum().fill_null(0)


def _table_rules(
    extract: Extract, spec: TableSpec, out: _Collector, definitions: Definitions | None
) -> int:
    """Per-column rules of one table; returns its row count."""
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
            bad = has_text & ~value.isin(allowed)
            checks[f"code_not_in_list|{f.name}"] = (f.name, ", ".join(allowed), bad)
        if f.type == "score":
            bad = has_text & ~trim_text(value).re_search(_score_pattern())
            checks[f"score_unparseable|{f.name}"] = (f.name, "a plain decimal number", bad)
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


def _score_pattern() -> str:
    try:
        from iaptkit.measures.scores import SCORE_PATTERN

        return str(SCORE_PATTERN)
    except ImportError:  # pragma: no cover - measures not installed yet
        return _SCORE_PATTERN


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
        text.re_search(_score_pattern()).fill_null(False),
        text.try_cast("decimal(12, 4)"),
        ibis.null("decimal(12, 4)"),
    )
    known = sorted({c for m in definitions.measures.values() for c in m.tool_codes})
    branches = [
        (
            tool.isin(m.tool_codes),
            (number < ibis.literal(str(m.valid_min)).cast("decimal(12, 4)"))
            | (number > ibis.literal(str(m.valid_max)).cast("decimal(12, 4)")),
        )
        for m in definitions.measures.values()
    ]
    out_of_range = ibis.cases(*branches, else_=ibis.literal(False))
    ranges = "; ".join(
        f"{m.name} {m.valid_min}-{m.valid_max}" for m in definitions.measures.values()
    )
    checks["score_out_of_range|PersScore"] = (
        "PersScore",
        f"inside the measure's valid range ({ranges})",
        number.notnull() & out_of_range,
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
        "unknown_score_tool": "are not",
        "discharge_before_referral": "are not",
    }[rule]
    tail = {
        "unknown_score_tool": "; they are not used by the measures.",
        "discharge_before_referral": ".",
    }.get(rule, "; they are treated as missing.")
    return f"{_rows(rows)} of {table}.{column} {what} {expected}{tail}"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _is_numeric(type_name: str) -> bool:
    lowered = type_name.lower()
    return lowered.startswith(_NUMERIC_PREFIXES)


def _cross_rules(extract: Extract, out: _Collector) -> None:
    """Rules that join tables: orphans, duplicate keys, submissions."""
    usable = [
        n
        for n in extract.table_names()
        if all(f in extract.tables[n].columns for f in TABLES[n].required_fields)
    ]
    for name in usable:
        spec = TABLES[name]
        keys = list(spec.key)
        t = extract.table(name, columns=keys)
        groups = t.group_by(keys).aggregate(_n=t.count())
        dupes = groups.filter(groups._n > 1)
        extra = int((dupes._n - 1).sum().fill_null(0).execute())
        out.add(
            "duplicate_key",
            name,
            keys[-1],
            extra,
            f"{_rows(extra)} of {name} repeat the key ({', '.join(keys)}) of another row "
            "in the same submission; only one of them is used.",
            dupes,
            keys[:3],
        )
    if "IDS101Referral" in usable:
        counted = counted_rows(
            extract.table(
                "IDS101Referral", columns=("UniqueSubmissionID", "PathwayID", "UsePathway_Flag")
            ),
            TABLES["IDS101Referral"],
            extract.submissions(),
        )
        pathways = (
            counted.filter(counted.PathwayID.notnull())
            .select(_iapt_pid=counted.PathwayID)
            .distinct()
            .cache()
        )
        for name in _CHILD_TABLES:
            if name not in usable:
                continue
            t = extract.table(name, columns=("PathwayID", "UniqueSubmissionID"))
            orphans = t.filter(t.PathwayID.notnull()).anti_join(
                pathways, t.PathwayID == pathways._iapt_pid
            )
            rows = int(orphans.count().execute())
            out.add(
                "orphan_pathway",
                name,
                "PathwayID",
                rows,
                f"{_rows(rows)} of {name} have a PathwayID with no referral (IDS101) in any "
                "counted submission; they cannot be attributed to a pathway.",
                orphans,
                ["PathwayID", "UniqueSubmissionID"],
            )
        if "IDS001MPI" in usable:
            r = extract.table(
                "IDS101Referral", columns=("PathwayID", "UniqueSubmissionID", "RecordNumber")
            )
            p = extract.table("IDS001MPI", columns=("UniqueSubmissionID", "RecordNumber"))
            people = p.select(_iapt_sid=p.UniqueSubmissionID, _iapt_rec=p.RecordNumber).distinct()
            lost = r.anti_join(
                people,
                [r.UniqueSubmissionID == people._iapt_sid, r.RecordNumber == people._iapt_rec],
            )
            rows = int(lost.count().execute())
            out.add(
                "orphan_record",
                "IDS101Referral",
                "RecordNumber",
                rows,
                f"{_rows(rows)} of IDS101Referral have a RecordNumber with no IDS001MPI row in "
                "the same submission; their demographics are unknown.",
                lost,
                ["PathwayID", "UniqueSubmissionID", "RecordNumber"],
            )
    if "IDS101Referral" in usable or "IDS000Header" in usable:
        typed = {n: extract.table(n, columns=exclusion_columns(n)) for n in usable}
        excl = exclusion_counts(typed, extract.submissions(), None)
        notes = {
            "superseded_submission": "rows belong to a submission superseded by a later one "
            "for the same provider and month; they are ignored.",
            "pathway_flag_false": "rows have UsePathway_Flag false; they are ignored.",
            "unknown_submission": "rows carry a UniqueSubmissionID that is in neither IDS000 "
            "nor IDS101; they are ignored.",
        }
        for table, reason, n in excl[["table", "reason", "rows"]].itertuples(index=False):
            if str(reason) in notes:
                rows = int(str(n))
                out.add(
                    str(reason),
                    str(table),
                    "UniqueSubmissionID",
                    rows,
                    f"{_rows(rows)} of {table}: {notes[str(reason)]}",
                )


def validate(
    extract: Extract, *, definitions: Definitions | None = None, max_examples: int = 5
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
    ``shared/domain/data-model.md`` (tables, fields, code lists, monthly resubmission) and the
    score ranges of ``shared/domain/measures.md`` §4.

    Examples
    --------
    >>> import pandas as pd
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
        from iaptkit.definitions.model import load_definitions

        definitions = load_definitions()
    out = _Collector([], max_examples)
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
        rows[name] = _table_rules(extract, TABLES[name], out, definitions)
    _cross_rules(extract, out)
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


def validate_command(extract: str, *, json_out: Path | None = None) -> int:
    """``iaptkit validate EXTRACT [--json OUT]``: print the report, exit 1 only if fatal.

    Notes
    -----
    The report goes to stderr as a rich table; results (the JSON) go to a file.

    Examples
    --------
    >>> validate_command("/no/such/extract")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    iaptkit.errors.ExtractError: Extract /no/such/extract does not exist: ...
    """
    from rich.console import Console

    console = Console(stderr=True)
    opened = load_extract(extract)
    try:
        console.print(f"Validating {opened.source} ({len(opened.table_names())} tables)...")
        report = validate(opened)
    finally:
        opened.close()
    report.render(console)
    if json_out is not None:
        written = report.to_json(json_out)
        console.print(f"Report written to {written}", highlight=False)
    return 1 if report.fatal else 0
