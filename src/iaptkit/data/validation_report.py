"""What validation finds: rules and severities, one problem, and the report of them all.

Rule ids are shared with the synthetic generator, which records the faults it injects in
``_synth.json`` under the same ids (``{"faults": {rule: {"Table.Column": rows}}}``); see
:meth:`ValidationReport.counts`. The rules themselves are :mod:`iaptkit.data.validation_rules`
(one table at a time) and :mod:`iaptkit.data.validation_cross` (across tables).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import ibis.expr.types as ir

__all__ = [
    "RULES",
    "SEVERITIES",
    "WHOLE_TABLE_RULES",
    "Problem",
    "ProblemCollector",
    "Severity",
    "ValidationReport",
    "rows_text",
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
        "empty_table": "warning",
        "control_characters": "warning",
        "score_unparseable": "error",
        "score_out_of_range": "error",
        "score_not_integer": "error",
        "unknown_score_tool": "info",
        "discharge_before_referral": "error",
        "missing_pathway_id": "error",
        "missing_referral_date": "error",
        "missing_contact_date": "error",
        "contact_before_referral": "error",
        "contact_after_submission_month": "error",
        "imd_out_of_range": "error",
        "age_out_of_range": "error",
        "orphan_pathway": "error",
        "orphan_record": "error",
        "duplicate_key": "error",
        "unknown_submission": "warning",
        "superseded_submission": "info",
        "pathway_flag_false": "info",
        "unknown_file": "info",
    }
)


#: Rules about a table or column as a whole: recorded with 0 rows (every other rule is recorded
#: only when some rows fail).
WHOLE_TABLE_RULES: frozenset[str] = frozenset({"missing_table", "missing_column", "empty_table"})


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

    def __repr__(self) -> str:
        """One line: the source and the problems per severity (no examples from the data)."""
        per = ", ".join(f"{len(self.by_severity(s))} {s}" for s in SEVERITIES)
        return (
            f"<ValidationReport {self.source!r}: {len(self.problems)} problems ({per}); "
            f"{sum(self.table_rows.values()):,} rows in {len(self.table_rows)} tables>"
        )

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


@dataclass
class ProblemCollector:
    """The problems found so far; each rule adds what it finds with :meth:`add`.

    Parameters
    ----------
    problems
        The problems found, in the order found.
    max_examples
        Example keys fetched per problem (0: none, so no example query runs).
    """

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
        """Record ``rows`` rows failing ``rule`` (nothing when none fail).

        Parameters
        ----------
        rule
            The rule id (see :data:`RULES`; it gives the severity).
        table, column
            Where; ``column`` is ``None`` for table-level rules.
        rows
            How many rows fail (:data:`WHOLE_TABLE_RULES` are recorded at 0).
        message
            What was expected and what was found.
        examples
            The failing rows, to fetch up to ``max_examples`` of.
        labels
            The columns of ``examples`` shown as ``column=value`` in each example.
        """
        if rows <= 0 and rule not in WHOLE_TABLE_RULES:
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


def rows_text(n: int) -> str:
    """``"1 row"`` or ``"1,234 rows"``, for messages.

    Examples
    --------
    >>> rows_text(1), rows_text(1234)
    ('1 row', '1,234 rows')
    """
    return f"{n:,} row" if n == 1 else f"{n:,} rows"
