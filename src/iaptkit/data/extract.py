"""An opened IAPT v2.x extract: lazy ibis relations for every IDS table (DuckDB or Spark).

:class:`Extract` is what :func:`iaptkit.data.load_extract` returns. Every table is a lazy
ibis relation over its source (:mod:`iaptkit.data.sources`): as read (:meth:`Extract.raw`),
typed (:meth:`Extract.table`, :mod:`iaptkit.data.parsing`), counted, or as at a date
(:mod:`iaptkit.data.submissions`). This class is the one home of the state of a referral as at
a date (:meth:`Extract.referrals_as_at`) and of activity as at a date
(:meth:`Extract.activity_as_at`); the measures use them. Only *reading* differs between
engines: these relations are the same ibis code for both.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data import exclusion_rows, submissions
from iaptkit.data.parsing import IBIS_TYPES, already_typed, typed_column
from iaptkit.data.schema import TABLES, TableSpec, canonical_table_name
from iaptkit.data.sources import SourceTable
from iaptkit.data.spark_ledger import spark_exclusion_counts
from iaptkit.data.staging import materialise
from iaptkit.data.validation import validate
from iaptkit.data.validation_report import ValidationReport
from iaptkit.errors import ExtractError

if TYPE_CHECKING:  # pragma: no cover
    from iaptkit.definitions.model import Definitions

__all__ = ["Extract"]


#: The key of :attr:`Extract._cache` that turns on :meth:`Extract.keep_referral_states`.
_KEEP_STATES = "keep_referral_states"


@dataclass
class Extract:
    """An opened extract: lazy ibis relations for every IDS table it holds.

    Build it with :func:`iaptkit.data.load_extract`. The relations are lazy: nothing is read
    until a result is executed (``.execute()``, ``.count().execute()``, ``.to_pyarrow()``).

    Notes
    -----
    The rules (which rows count, the state as at a date) are those of
    ``docs/data-model.md`` ("Monthly resubmission"); see :mod:`iaptkit.data.submissions`.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS201CareContact": pd.DataFrame({
    ...     "UniqueSubmissionID": [1], "Unique_MonthID": [1492], "OrgID_Provider": ["R1A"],
    ...     "PathwayID": ["P1"], "CareContactId": ["C1"], "CareContDate": ["2024-07-03"],
    ...     "AppType": ["02"], "AttendOrDNACode": ["5"], "PlannedCareContIndicator": ["Y"]})})
    >>> ex.table_names()
    ('IDS201CareContact',)
    >>> ex.table("IDS201CareContact").AppType.execute().tolist()
    ['02']
    >>> ex.close()
    """

    engine: str
    con: Any
    source: str
    tables: Mapping[str, SourceTable]
    unknown_files: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _tempdir: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        """One line: engine, source and the tables present (never data)."""
        names = self.table_names()
        extra = f", {len(self.unknown_files)} unknown files" if self.unknown_files else ""
        return (
            f"<Extract {self.source!r} ({self.engine}): {len(names)} tables "
            f"{', '.join(names)}{extra}>"
        )

    # ----------------------------------------------------------------- discovery

    def table_names(self) -> tuple[str, ...]:
        """The data-dictionary names of the tables present, in schema order."""
        return tuple(name for name in TABLES if name in self.tables)

    def has_table(self, name: str) -> bool:
        """Whether the extract holds table ``name`` (any case)."""
        canonical = canonical_table_name(name)
        return canonical is not None and canonical in self.tables

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``column`` (any case) is present in the SOURCE table (not added as null)."""
        canonical = canonical_table_name(table)
        if canonical is None or canonical not in self.tables:
            return False
        src = self.tables[canonical]
        lowered = column.lower()
        return any(c.lower() == lowered for c in src.columns) or any(
            c.lower() == lowered for c in src.extra_columns
        )

    def spec(self, name: str) -> TableSpec:
        """The :class:`~iaptkit.data.schema.TableSpec` of a table name in any case."""
        canonical = canonical_table_name(name)
        if canonical is None:
            raise ExtractError(
                f"Unknown table {name!r}: expected one of {', '.join(TABLES)} "
                f"(data-dictionary or lower case) in extract {self.source}."
            )
        return TABLES[canonical]

    def _source(self, name: str) -> SourceTable:
        spec = self.spec(name)
        if spec.name not in self.tables:
            raise ExtractError(
                f"Table {spec.name} is not in extract {self.source}; tables present: "
                f"{', '.join(self.table_names()) or 'none'}."
            )
        return self.tables[spec.name]

    def fingerprint(self) -> str:
        """A sha256 over table names, sources and file sizes/mtimes (or row counts).

        Cheap: files are not read; for database and in-memory sources the row counts are used.
        """
        digest = hashlib.sha256()
        digest.update(self.engine.encode())
        for name in self.table_names():
            src = self.tables[name]
            digest.update(f"|{name}|{','.join(sorted(src.columns.values()))}".encode())
            if src.files:
                for path in src.files:
                    stat = path.stat()
                    digest.update(f"|{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
            else:
                digest.update(f"|rows={int(self._base(name).count().execute())}".encode())
        return digest.hexdigest()

    # ----------------------------------------------------------------- relations

    def _base(self, name: str) -> ir.Table:
        src = self._source(name)
        if src.database is not None:
            return self.con.table(src.relation, database=src.database)
        return self.con.table(src.relation)

    def raw(self, name: str) -> ir.Table:
        """The table as read: canonical column names (fields present), every column as text.

        Source columns that are not schema fields follow, under their source names.
        """
        src = self._source(name)
        base = self._base(name)
        spec = TABLES[src.name]
        cols: dict[str, ir.Value] = {
            f.name: base[src.columns[f.name]].cast("string")
            for f in spec.fields
            if f.name in src.columns
        }
        for extra in src.extra_columns:
            cols[extra] = base[extra].cast("string")
        return base.select(**cols)

    def table(self, name: str, *, columns: Sequence[str] | None = None) -> ir.Table:
        """The typed table: every schema field, typed; missing optional fields are typed nulls.

        Parameters
        ----------
        name
            The table, in any case.
        columns
            Only these fields (canonical names), e.g. for a narrow aggregate; all by default.

        Raises
        ------
        ExtractError
            If the table is absent, or a required field (of those asked for) is missing.
        """
        src = self._source(name)
        spec = TABLES[src.name]
        fields = spec.fields if columns is None else tuple(spec.field(c) for c in columns)
        missing = [f.name for f in fields if f.required and f.name not in src.columns]
        if missing:
            raise ExtractError(
                f"Table {spec.name} in {src.location} has no column {', '.join(missing)} "
                f"(required); columns present: {', '.join(src.columns.values()) or 'none'}"
                + (f", {', '.join(src.extra_columns)}" if src.extra_columns else "")
                + "."
            )
        base = self._base(name)
        cols: dict[str, ir.Value] = {}
        for f in fields:
            if f.name in src.columns:
                column = base[src.columns[f.name]]
                if already_typed(column, f) and f.type == "date":
                    # the text route only reads 4-digit years (yyyy-mm-dd)
                    year = column.year()
                    cols[f.name] = ibis.ifelse(
                        year.between(1, 9999), column.cast("date"), ibis.null("date")
                    )
                elif already_typed(column, f):
                    # the text of an integer always parses back to the same value
                    cols[f.name] = column.cast(IBIS_TYPES[f.type])
                else:
                    cols[f.name] = typed_column(column.cast("string"), f)
            else:
                cols[f.name] = ibis.null(IBIS_TYPES[f.type])
        return base.select(**cols)

    def submissions(self) -> ir.Table:
        """Every submission seen (IDS000 and IDS101), flagged ``counted`` when it is the latest.

        Columns ``OrgID_Provider``, ``Unique_MonthID``, ``UniqueSubmissionID``, ``counted``.
        Cached on the backend after first use (it is small).
        """
        if "submissions" not in self._cache:
            names = [n for n in ("IDS000Header", "IDS101Referral") if n in self.tables]
            sources = [
                self.table(n, columns=submissions.submission_columns(n))
                for n in (names or self.table_names())
            ]
            if not sources:
                raise ExtractError(f"Extract {self.source} holds no IDS tables.")
            self._cache["submissions"] = submissions.submission_index(sources).cache()
        result: ir.Table = self._cache["submissions"]
        return result

    def counted(self, name: str) -> ir.Table:
        """Typed rows of counted submissions only (see :func:`submissions.counted_rows`)."""
        spec = self.spec(name)
        return submissions.counted_rows(self.table(spec.name), spec, self.submissions())

    def referrals_as_at(
        self,
        as_at: date,
        *,
        nhs_fields: bool = True,
        where: Callable[[ir.Table], ir.Table] | None = None,
    ) -> ir.Table:
        """One row per PathwayID: its state as at ``as_at`` (docs/data-model.md rule 3).

        This is the one home of "the referral as at a date": the measures (derivation,
        pathway partitions) call it rather than assembling IDS101 and IDS001 themselves.

        Parameters
        ----------
        as_at
            The date E: the counted IDS101 row of the latest ``Unique_MonthID`` up to E's month
            (:func:`iaptkit.data.submissions.referrals_as_at`), discharge nulled after E.
        nhs_fields
            With ``False``, without the NHS-derived IDS101 fields (a narrower, cheaper
            de-duplication; the other fields are the same, see
            :func:`iaptkit.data.submissions.without_nhs_fields`).
        where
            Restricts the counted IDS101 rows before the de-duplication; it must keep or drop
            all rows of a PathwayID (e.g. a filter on PathwayID, as
            :class:`iaptkit.measures.partitions.PathwayPart` does). Where the whole
            extract's state is kept (:meth:`keep_referral_states`), it filters that state.

        Returns
        -------
        ibis.Table
            One row per PathwayID: the typed IDS101 columns and, from IDS001 (same
            UniqueSubmissionID and RecordNumber), Person_ID and the demographics.
        """
        key = f"referrals_as_at:{as_at.isoformat()}:{nhs_fields}"
        keep = where is None and (
            self.engine == "spark" or (self.engine == "duckdb" and _KEEP_STATES in self._cache)
        )
        if keep and key in self._cache:
            cached: ir.Table = self._cache[key]
            return cached
        if where is not None and key in self._cache:
            # the whole extract's state is kept: a part's state is its rows (``where`` keeps
            # or drops every row of a PathwayID, and the state has one row per PathwayID)
            kept: ir.Table = where(self._cache[key])
            return kept
        people = self.counted("IDS001MPI") if "IDS001MPI" in self.tables else None
        referrals = self.counted("IDS101Referral")
        if where is not None:
            referrals = where(referrals)
        if not nhs_fields:
            referrals = submissions.without_nhs_fields(referrals)
        result = submissions.referrals_as_at(referrals, people, as_at)
        if keep and self.engine == "spark":
            # Spark: one materialised stage, read by the ledger and the derivation alike
            # (iaptkit.data.staging)
            result = materialise(result, f"referrals as at {as_at}")
            self._cache[key] = result
        elif keep:
            # DuckDB: the commands read the same state twice (the row ledger, then the
            # derivation): computed once, held on the backend until close
            result = result.cache()
            self._cache[key] = result
        return result

    def keep_referral_states(self) -> None:
        """From now on, compute each referral state as at a date once and keep it (DuckDB).

        For a command that reads the same state twice (the row ledger, then the derivation):
        :meth:`referrals_as_at` of the whole extract is then cached on the backend until
        :meth:`close`. Off by default, so that a session deriving many dates holds none.
        On Spark the state is always one materialised stage (iaptkit.data.staging).
        """
        self._cache[_KEEP_STATES] = True

    def activity_as_at(
        self,
        name: str,
        as_at: date,
        *,
        pathways: ir.Table | None = None,
        where: Callable[[ir.Table], ir.Table] | None = None,
        prefer: Callable[[ir.Table], ir.BooleanValue] | None = None,
        keep: Callable[[ir.Table], ir.BooleanValue] | None = None,
    ) -> ir.Table:
        """Union of counted submissions up to ``as_at``'s month, deduplicated (rule 4).

        With ``pathways`` (a table with a PathwayID column), only these pathways' activity.
        With ``prefer``, a row for which it is true wins the de-duplication of its record.
        ``where`` restricts the counted rows before the de-duplication (it must keep or drop
        all rows of a PathwayID, as for :meth:`referrals_as_at`). With ``keep``, only the
        rows it holds for take part in the de-duplication: each record gives its latest kept
        row, and a record with none is absent (for the kept rows, what ``prefer=keep`` gives,
        from a smaller sort).
        """
        spec = self.spec(name)
        if spec.activity_key is None:
            raise ExtractError(
                f"Table {spec.name} is not an activity table; expected one of "
                f"{', '.join(n for n, t in TABLES.items() if t.activity_key)}."
            )
        if spec.name not in self.tables:
            return self._empty(spec)
        rows = self.counted(spec.name)
        if where is not None:
            rows = where(rows)
        if keep is not None:
            rows = rows.filter(keep(rows))
        return submissions.activity_as_at(rows, spec, as_at, pathways, prefer)

    def _empty(self, spec: TableSpec) -> ir.Table:
        schema = ibis.schema({f.name: IBIS_TYPES[f.type] for f in spec.fields})
        empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in spec.fields})
        mem = ibis.memtable(empty, schema=schema)
        if self.engine == "spark":
            return mem
        result: ir.Table = self.con.create_table(
            f"_empty_{spec.name}", mem, temp=True, overwrite=True
        )
        return result

    def exclusions(self, as_at: date | None = None) -> pd.DataFrame:
        """Every row not used, by table and reason: columns ``table``, ``reason``, ``rows``."""
        typed = {
            name: self.table(name, columns=exclusion_rows.exclusion_columns(name))
            for name in self.table_names()
        }
        if self.engine == "spark":  # the same counts, in Spark's shape (data/spark_ledger.py)
            return spark_exclusion_counts(typed, self.submissions(), as_at)
        frame = exclusion_rows.exclusion_counts(typed, self.submissions(), as_at)
        return frame

    def validate(
        self, *, definitions: Definitions | None = None, max_examples: int = 5
    ) -> ValidationReport:
        """Run every validation rule and return one report (see :mod:`iaptkit.data.validation`).

        Parameters
        ----------
        definitions
            Measure definitions for score ranges and tools; the packaged default when ``None``.
        max_examples
            Example keys kept per problem.

        Returns
        -------
        ValidationReport
            Every problem found, fatal first (:func:`iaptkit.data.validation.validate`).
        """
        return validate(self, definitions=definitions, max_examples=max_examples)

    def close(self) -> None:
        """Release the backend connection and the temporary spill folder."""
        self._cache.clear()
        if self.engine == "duckdb":
            # drop every cached relation (ibis's .cache()) while the connection is open: their
            # finalizers would otherwise run later on a closed connection and print tracebacks
            cached = getattr(self.con, "_cache_name_to_entry", {})
            for name in list(cached):
                with contextlib.suppress(Exception):
                    self.con._finalize_cached_table(name)
            for entry in list(getattr(self.con, "_cache_name_to_entry", {}).values()):
                with contextlib.suppress(Exception):
                    entry.finalizer.detach()
            with contextlib.suppress(Exception):  # already closed
                self.con.disconnect()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Extract:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
