"""The row ledger: for every table read, rows in the files = rows used + rows not used, by reason.

A :class:`Ledger` is an immutable value built up stage by stage (reading, submission selection,
the as-at state) and passed explicitly: :func:`extract_ledger` counts every table of an
extract in one query (each table's reasons grouped, then unioned), from the same typed
relations the derivation reads, so the accounting is not a second derivation. Reasons come
from the closed list :data:`LEDGER_REASONS` (``docs/ledger.md``); there is no catch-all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from iaptkit.data.csv_files import read_error_message
from iaptkit.data.exclusion_rows import EXCLUSION_REASONS, exclusion_columns, exclusion_counts
from iaptkit.data.extract import Extract
from iaptkit.data.spark_ledger import spark_exclusion_counts
from iaptkit.data.submissions import referrals_as_at as submissions_referrals_as_at
from iaptkit.data.submissions import without_nhs_fields
from iaptkit.definitions.model import Definitions
from iaptkit.errors import ExtractError

__all__ = ["LEDGER_REASONS", "Ledger", "TableLedger", "count_rows", "extract_ledger"]

#: Every reason a row may be not used (closed list; docs/ledger.md).
LEDGER_REASONS: Mapping[str, str] = MappingProxyType(
    {
        **EXCLUSION_REASONS,
        "not_needed_by_command": "a table the command's result does not read (e.g. IDS004EmpStatus "
        "unless the measures include family 8)",
        "extract_refused": "the command stopped on a fatal problem of the extract (exit 2; "
        "validate: exit 1), so no row of the table is used",
    }
)


#: The date validation reads referrals at: their latest state (every month counts).
_LATEST = date(9999, 12, 31)


@dataclass(frozen=True)
class TableLedger:
    """One table's accounting.

    Parameters
    ----------
    table
        The data-dictionary table name.
    rows_in_files
        Data records in all the table's files (headers excluded).
    rows_used
        Rows used by the command's result.
    rows_not_used
        Reason (from :data:`LEDGER_REASONS`) -> rows, only reasons with rows.

    Examples
    --------
    >>> t = TableLedger("IDS001MPI", 3, 2, {"superseded_submission": 1})
    >>> t.balanced, t.to_dict()["rows_not_used"]
    (True, {'superseded_submission': 1})
    """

    table: str
    rows_in_files: int
    rows_used: int
    rows_not_used: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rows_not_used) - set(LEDGER_REASONS))
        if unknown:
            raise ValueError(f"{self.table}: reasons not in LEDGER_REASONS: {unknown}")

    @property
    def balanced(self) -> bool:
        """Whether rows used + rows not used = rows in the files."""
        return self.rows_used + sum(self.rows_not_used.values()) == self.rows_in_files

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this table (``docs/ledger.md``)."""
        return {
            "table": self.table,
            "rows_in_files": int(self.rows_in_files),
            "rows_used": int(self.rows_used),
            "rows_not_used": {k: int(v) for k, v in self.rows_not_used.items() if v},
        }


@dataclass(frozen=True)
class Ledger:
    """The ledger of one command: one :class:`TableLedger` per table read, in read order.

    Examples
    --------
    >>> led = Ledger().with_table(TableLedger("IDS101Referral", 2, 2))
    >>> [t["table"] for t in led.to_records()], led.balanced
    (['IDS101Referral'], True)
    """

    tables: tuple[TableLedger, ...] = ()
    stage: str = "read"

    def with_table(self, entry: TableLedger) -> Ledger:
        """A new ledger with ``entry`` added (or replacing that table's entry)."""
        kept = tuple(t for t in self.tables if t.table != entry.table)
        return Ledger((*kept, entry), self.stage)

    def at_stage(self, stage: str) -> Ledger:
        """The same counts, labelled with the stage they were last updated at."""
        return Ledger(self.tables, stage)

    @property
    def balanced(self) -> bool:
        """Whether every table balances."""
        return all(t.balanced for t in self.tables)

    def refused(self) -> Ledger:
        """The ledger of a run that stopped: every row not yet accounted is ``extract_refused``.

        A refusal comes before any row is used, so each table still balances: rows in the
        files = rows used + rows not used.

        Examples
        --------
        >>> led = Ledger((TableLedger("IDS001MPI", 5, 0, {}),)).refused()
        >>> led.to_records()[0]["rows_not_used"], led.balanced
        ({'extract_refused': 5}, True)
        """
        tables = []
        for t in self.tables:
            missing = t.rows_in_files - t.rows_used - sum(t.rows_not_used.values())
            reasons = dict(t.rows_not_used)
            if missing > 0:
                reasons["extract_refused"] = reasons.get("extract_refused", 0) + missing
            tables.append(TableLedger(t.table, t.rows_in_files, t.rows_used, reasons))
        return Ledger(tuple(tables), "refused")

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], stage: str = "read") -> Ledger:
        """The ledger of a ``"ledger"`` list (the inverse of :meth:`to_records`).

        Examples
        --------
        >>> Ledger.from_records([{"table": "IDS001MPI", "rows_in_files": 2, "rows_used": 2,
        ...                       "rows_not_used": {}}]).balanced
        True
        """
        return cls(
            tuple(
                TableLedger(
                    str(r["table"]),
                    int(r["rows_in_files"]),
                    int(r["rows_used"]),
                    {str(k): int(v) for k, v in dict(r.get("rows_not_used") or {}).items()},
                )
                for r in records
            ),
            stage,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """The ``"ledger"`` list of the commands' JSON."""
        return [t.to_dict() for t in self.tables]

    def to_json(self) -> str:
        """The ledger as a JSON document ``{"stage": ..., "ledger": [...]}``."""
        return json.dumps({"stage": self.stage, "ledger": self.to_records()}, indent=2)


def count_rows(extract: Extract, name: str) -> int:
    """Rows of table ``name`` as read (every file scanned: a damaged file fails here).

    Raises
    ------
    ExtractError
        If the file cannot be read to the end (truncated, extra field, undecodable bytes),
        naming the file, the table and DuckDB's line and reason.
    """
    src = extract.tables[name]
    if src.rows is not None:  # parquet footers read by the Spark reader (spark_sources)
        return src.rows
    raw = extract.raw(name)
    text_files = any(p.name.lower().endswith((".csv", ".csv.gz", ".txt")) for p in src.files)
    try:
        if not text_files:
            return int(raw.count().execute())
        # every column is read (not only the row count), so undecodable bytes anywhere in
        # the file are found here, before any result is computed
        counts = raw.aggregate(
            _iapt_rows=raw.count(),
            **{f"_iapt_c{i}": raw[c].count() for i, c in enumerate(raw.columns)},
        ).execute()
        return int(counts["_iapt_rows"].iloc[0])
    except Exception as exc:  # DuckDB's reader errors; re-raised as the user's matter
        if isinstance(exc, ExtractError | KeyboardInterrupt):
            raise
        raise ExtractError(read_error_message(name, src.location, exc)) from None


def extract_ledger(
    extract: Extract,
    as_at: date | None = None,
    definitions: Definitions | None = None,
    read: Ledger | None = None,
    not_needed: frozenset[str] = frozenset(),
) -> Ledger:
    """Count every table of an extract: rows in its files, used, and not used by reason.

    Parameters
    ----------
    extract
        An opened extract.
    as_at
        The command's date (derive's as-at, the end of a measures period); ``None`` for
        validation (the reasons that do not depend on a date).
    definitions
        The measures' tool codes and valid ranges (IDS606/IDS607 rows that are not scores);
        the packaged default when ``None``.
    read
        The rows already counted in the files (:func:`count_rows` of every table, as the
        commands do before their fatal check): not counted a second time. ``None``: counted.
    not_needed
        Tables the command's result does not read (all their rows ``not_needed_by_command``
        when ``as_at`` is given; their rows are not checked further), as the measure families
        declare them (``iaptkit.measures.families.reads.tables_not_needed``): e.g. IDS004 and
        IDS602 unless the measures include family 8.

    Returns
    -------
    Ledger
        One entry per table present, in schema order; rows used are the rows the derivation
        reads (the counted, latest state of each row as at the date).

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS000Header": pd.DataFrame({"UniqueSubmissionID": [1, 2],
    ...     "Unique_MonthID": [1492, 1492], "OrgIDProv": ["R1A", "R1A"]})})
    >>> extract_ledger(ex).to_records()[0]["rows_not_used"]
    {'superseded_submission': 1}
    >>> ex.close()
    """
    ledger = Ledger(stage="read")
    counted = {t.table: t.rows_in_files for t in read.tables} if read is not None else {}
    for name in extract.table_names():
        in_files = counted[name] if name in counted else count_rows(extract, name)
        ledger = ledger.with_table(TableLedger(name, in_files, 0, {}))
    subs_ok = "IDS000Header" in extract.tables or "IDS101Referral" in extract.tables
    if not subs_ok:
        return ledger
    typed = {}
    for name in extract.table_names():
        if as_at is not None and name in not_needed:
            continue  # every row not needed: no reason of its own is counted
        spec_cols = exclusion_columns(name)
        if all(extract.has_column(name, c) for c in ("UniqueSubmissionID", "Unique_MonthID")):
            typed[name] = extract.table(name, columns=spec_cols)
    referrals = dates = None
    if "IDS101Referral" in typed and as_at is not None:
        refs = extract.referrals_as_at(as_at, nhs_fields=False)
        cols = ("PathwayID", "UniqueSubmissionID", "RecordNumber", "ReferralRequestReceivedDate")
        # cached once: every activity table and IDS001 are checked against it (on Spark the
        # state is already a materialised stage: a projection of it costs no extra job)
        referrals = dates = refs.select(*cols)
        if extract.engine != "spark":
            referrals = dates = referrals.cache()
    elif "IDS101Referral" in typed:
        # validation checks contacts against the latest state of their referral (no IDS001)
        counted = without_nhs_fields(extract.counted("IDS101Referral"))
        latest = submissions_referrals_as_at(counted, None, _LATEST)
        dates = latest.select("PathwayID", "ReferralRequestReceivedDate").cache()
    # the same counts in a shape Catalyst plans quickly on Spark (data/spark_ledger.py says why)
    count = spark_exclusion_counts if extract.engine == "spark" else exclusion_counts
    frame = count(
        typed, extract.submissions(), as_at, referrals, definitions=definitions, dates=dates
    )
    out = Ledger(stage="as_at" if as_at is not None else "submissions")
    for entry in ledger.tables:
        rows = frame[frame["table"] == entry.table]
        not_used = {str(r): int(n) for r, n in zip(rows["reason"], rows["rows"], strict=True)}
        if as_at is not None and entry.table in not_needed:
            not_used = {"not_needed_by_command": entry.rows_in_files}
        used = entry.rows_in_files - sum(not_used.values())
        out = out.with_table(TableLedger(entry.table, entry.rows_in_files, used, not_used))
    return out
