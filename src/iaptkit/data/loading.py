"""Load an IAPT v2.x extract lazily into ibis relations (DuckDB or Spark).

An extract is opened once with :func:`load_extract`; every table is then a lazy ibis relation:
DuckDB views over the files of a folder (``read_parquet``/``read_csv`` with all columns as text),
the tables of a DuckDB database file attached read-only, DataFrames held in an in-memory DuckDB,
or the tables of a Spark database. Only *reading* differs between engines: the typed, counted and
as-at relations (:mod:`iaptkit.data.submissions`) are the same ibis code for both.

Types follow ``shared/domain/data-model.md`` and :mod:`iaptkit.data.schema`: codes stay text
(``02`` stays ``02``), dates are parsed (a timestamp's date part is used), booleans accept the
usual spellings, scores stay raw text. A value that does not parse becomes null in
:meth:`Extract.table` and is counted by validation (:mod:`iaptkit.data.validation`).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from iaptkit.data import submissions
from iaptkit.data.schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    TABLES,
    FieldSpec,
    TableSpec,
    canonical_table_name,
)
from iaptkit.data.text import trim_text
from iaptkit.errors import ExtractError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from iaptkit.data.validation import ValidationReport
    from iaptkit.definitions.model import Definitions

__all__ = ["IBIS_TYPES", "Extract", "SourceTable", "load_extract", "trim_text", "typed_column"]

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
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".parquet", "parquet"),
    (".csv.gz", "csv"),
    (".csv", "csv"),
    (".txt", "txt"),
)


@dataclass(frozen=True)
class SourceTable:
    """Where one IDS table of an extract comes from.

    Parameters
    ----------
    name
        The data-dictionary table name.
    relation
        The name of the relation (view or table) holding the source rows on the backend.
    columns
        Canonical field name -> column name in the source, for the schema fields present.
    extra_columns
        Source columns that are not fields of the table (kept in :meth:`Extract.raw`).
    source_types
        Column name in the source -> its type as read (e.g. ``int64`` for a parquet code).
    location
        A file or table description, for messages.
    files
        The files read (empty for database sources), for the fingerprint.
    """

    name: str
    relation: str
    columns: Mapping[str, str]
    extra_columns: tuple[str, ...]
    source_types: Mapping[str, str]
    location: str
    files: tuple[Path, ...] = ()
    database: str | None = None


def _already_typed(column: ir.Value, spec: FieldSpec) -> bool:
    """Whether ``column`` already holds ``spec``'s type (integer or date), so no text parsing.

    Its text form matches the pattern :func:`typed_column` accepts (dates: years 1 to 9999)
    and parses back to the same value, so a cast gives the same result as the text route.
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
        case); ``str``/``code``/``score`` -> text unchanged, blank -> null.

    Notes
    -----
    Types and spellings from ``shared/domain/data-model.md`` ("Where an extract lives").
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


# --------------------------------------------------------------------------- the Extract


@dataclass
class Extract:
    """An opened extract: lazy ibis relations for every IDS table it holds.

    Build it with :func:`load_extract`. The relations are lazy: nothing is read until a result
    is executed (``.execute()``, ``.count().execute()``, ``.to_pyarrow()``).

    Notes
    -----
    The rules (which rows count, the state as at a date) are those of
    ``shared/domain/data-model.md`` ("Monthly resubmission"); see :mod:`iaptkit.data.submissions`.

    Examples
    --------
    >>> import pandas as pd
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
                if _already_typed(column, f) and f.type == "date":
                    # the text route only reads 4-digit years (yyyy-mm-dd)
                    year = column.year()
                    cols[f.name] = ibis.ifelse(
                        year.between(1, 9999), column.cast("date"), ibis.null("date")
                    )
                elif _already_typed(column, f):
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
        """One row per PathwayID: its state as at ``as_at`` (data-model.md rule 3).

        With ``nhs_fields=False``, without the NHS-derived IDS101 fields (a narrower, cheaper
        de-duplication; the other fields are the same, see
        :func:`submissions.without_nhs_fields`). ``where`` restricts the counted IDS101 rows
        before the de-duplication (it must keep or drop all rows of a PathwayID, e.g. a
        filter on PathwayID: :class:`iaptkit.measures.partitions.PathwayPart`).
        """
        people = self.counted("IDS001MPI") if "IDS001MPI" in self.tables else None
        referrals = self.counted("IDS101Referral")
        if where is not None:
            referrals = where(referrals)
        if not nhs_fields:
            referrals = submissions.without_nhs_fields(referrals)
        return submissions.referrals_as_at(referrals, people, as_at)

    def activity_as_at(
        self,
        name: str,
        as_at: date,
        *,
        pathways: ir.Table | None = None,
        where: Callable[[ir.Table], ir.Table] | None = None,
    ) -> ir.Table:
        """Union of counted submissions up to ``as_at``'s month, deduplicated (rule 4).

        With ``pathways`` (a table with a PathwayID column), only these pathways' activity.
        ``where`` restricts the counted rows before the de-duplication (it must keep or drop
        all rows of a PathwayID, as for :meth:`referrals_as_at`).
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
        return submissions.activity_as_at(rows, spec, as_at, pathways)

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
            name: self.table(name, columns=submissions.exclusion_columns(name))
            for name in self.table_names()
        }
        frame = submissions.exclusion_counts(typed, self.submissions(), as_at)
        return frame

    def validate(
        self, *, definitions: Definitions | None = None, max_examples: int = 5
    ) -> ValidationReport:
        """Run every validation rule and return one report (see :mod:`iaptkit.data.validation`)."""
        from iaptkit.data.validation import validate

        return validate(self, definitions=definitions, max_examples=max_examples)

    def close(self) -> None:
        """Release the backend connection and the temporary spill folder."""
        self._cache.clear()
        if self.engine == "duckdb":
            with contextlib.suppress(Exception):  # already closed
                self.con.disconnect()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Extract:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- opening sources


def load_extract(
    source: str | Path | Mapping[str, pd.DataFrame],
    *,
    spark: SparkSession | None = None,
    engine: Literal["duckdb", "spark"] | None = None,
) -> Extract:
    """Open an extract lazily.

    Parameters
    ----------
    source
        A folder of table files (``<Table>.parquet|.csv|.csv.gz|.txt``, ``.txt`` pipe-delimited),
        a DuckDB database file (``*.duckdb``), a Spark database name (with ``spark``), or a
        mapping of table name -> pandas DataFrame (converted exactly as if read from CSV text).
    spark
        A SparkSession: ``source`` is then a database in its catalog, or a folder read by Spark.
    engine
        ``"duckdb"`` (default without ``spark``) or ``"spark"`` (default with ``spark``).

    Returns
    -------
    Extract

    Raises
    ------
    ExtractError
        A missing folder or file, an unreadable file, an unknown table name.

    Notes
    -----
    Sources and naming from ``shared/domain/data-model.md`` ("Where an extract lives").

    Examples
    --------
    >>> import pandas as pd
    >>> ex = load_extract({"ids001mpi": pd.DataFrame({"uniquesubmissionid": [7]})})
    >>> ex.table_names(), ex.has_column("IDS001MPI", "UniqueSubmissionID")
    (('IDS001MPI',), True)
    >>> ex.close()
    """
    chosen = engine or ("spark" if spark is not None else "duckdb")
    if chosen not in ("duckdb", "spark"):
        raise ExtractError(f"Unknown engine {chosen!r}: expected 'duckdb' or 'spark'.")
    if chosen == "spark":
        return _open_spark(source, spark)
    if isinstance(source, Mapping):
        return _open_mapping(source)
    path = Path(source)
    if path.is_dir():
        return _open_folder(path)
    if path.is_file():
        if path.suffix.lower() in (".duckdb", ".db", ".ddb"):
            return _open_duckdb_file(path)
        raise ExtractError(
            f"Cannot read extract {path}: expected a folder of table files or a DuckDB "
            f"database file (*.duckdb), found a file with suffix {path.suffix!r}."
        )
    raise ExtractError(
        f"Extract {path} does not exist: expected a folder of table files, a DuckDB file "
        "(*.duckdb), or a Spark database name (pass spark=SparkSession)."
    )


def _duckdb_connection() -> tuple[Any, tempfile.TemporaryDirectory[str]]:
    tmp = tempfile.TemporaryDirectory(prefix="iaptkit-duckdb-")
    con = ibis.duckdb.connect()
    spill = Path(tmp.name) / "spill"
    spill.mkdir()
    con.raw_sql(f"SET temp_directory = '{_sql_str(str(spill))}'")
    con.raw_sql("SET preserve_insertion_order = false")
    return con, tmp


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _column_map(
    name: str, columns: Mapping[str, str], location: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Match source columns to schema fields case-insensitively."""
    spec = TABLES[name]
    by_lower: dict[str, str] = {}
    for col in columns:
        key = col.strip().lower()
        if key in by_lower:
            raise ExtractError(
                f"Table {name} in {location} has two columns named {by_lower[key]!r} and "
                f"{col!r}: column names are matched case-insensitively and must be unique."
            )
        by_lower[key] = col
    mapped: dict[str, str] = {}
    for f in spec.fields:
        hit = by_lower.pop(f.name.lower(), None)
        if hit is not None:
            mapped[f.name] = hit
    return mapped, tuple(by_lower.values())


def _make_source(
    name: str,
    relation: str,
    schema: Mapping[str, Any],
    location: str,
    files: tuple[Path, ...] = (),
    database: str | None = None,
) -> SourceTable:
    types = {str(col): str(dtype) for col, dtype in schema.items()}
    columns, extras = _column_map(name, types, location)
    return SourceTable(
        name=name,
        relation=relation,
        columns=columns,
        extra_columns=extras,
        source_types=types,
        location=location,
        files=files,
        database=database,
    )


def _text(value: Any) -> str | None:
    """One value as it would read from CSV text (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _text(value.item())
    return str(value)


def _frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    arrays = {
        str(col): pa.array([_text(v) for v in frame[col].tolist()], type=pa.string())
        for col in frame.columns
    }
    return pa.table(arrays) if arrays else pa.table({})


def _checked_frames(
    source: Mapping[str, pd.DataFrame],
) -> list[tuple[str, str, pd.DataFrame]]:
    """``(canonical name, key given, frame)`` for each DataFrame, or an ExtractError."""
    out: list[tuple[str, str, pd.DataFrame]] = []
    seen: set[str] = set()
    for key, frame in source.items():
        name = canonical_table_name(str(key))
        if name is None:
            raise ExtractError(
                f"Unknown table {key!r} in the tables given: expected one of "
                f"{', '.join(TABLES)} (data-dictionary or lower case)."
            )
        if name in seen:
            raise ExtractError(f"Table {name} given twice (as {key!r}) in the tables given.")
        if not isinstance(frame, pd.DataFrame):
            raise ExtractError(
                f"Table {key!r}: expected a pandas DataFrame, found {type(frame).__name__}."
            )
        if len(frame.columns) == 0:
            raise ExtractError(
                f"Table {key!r} has no columns: expected the fields of {name} "
                f"({', '.join(TABLES[name].required_fields)})."
            )
        seen.add(name)
        out.append((name, str(key), frame))
    return out


def _open_mapping(source: Mapping[str, pd.DataFrame]) -> Extract:
    checked = _checked_frames(source)
    con, tmp = _duckdb_connection()
    tables: dict[str, SourceTable] = {}
    for name, key, frame in checked:
        arrow = _frame_to_arrow(frame)
        relation = f"src_{name}"
        con.create_table(relation, arrow, overwrite=True)
        kinds = {str(c): str(frame[c].dtype) for c in frame.columns}
        tables[name] = _make_source(name, relation, kinds, f"table {key!r} (DataFrame)")
    ex = Extract(engine="duckdb", con=con, source="DataFrames", tables=tables, _tempdir=tmp)
    weakref.finalize(ex, tmp.cleanup)
    return ex


def _table_files(folder: Path) -> tuple[dict[str, tuple[Path, str]], list[str]]:
    found: dict[str, tuple[Path, str]] = {}
    unknown: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        stem, kind = entry.name, None
        if entry.is_dir():
            kind = "parquet_dir" if any(entry.rglob("*.parquet")) else None
        else:
            for suffix, k in _SUFFIXES:
                if entry.name.lower().endswith(suffix):
                    stem, kind = entry.name[: -len(suffix)], k
                    break
        name = canonical_table_name(stem) if kind else None
        if name is None:
            unknown.append(entry.name)
            continue
        if name in found:
            raise ExtractError(
                f"Table {name} appears twice in {folder}: {found[name][0].name} and "
                f"{entry.name}; expected one file per table."
            )
        found[name] = (entry, kind or "")
    return found, unknown


def _open_folder(folder: Path) -> Extract:
    found, unknown = _table_files(folder)
    con, tmp = _duckdb_connection()
    tables: dict[str, SourceTable] = {}
    for name, (path, kind) in found.items():
        quoted = _sql_str(str(path))
        if kind == "parquet":
            reader = f"read_parquet('{quoted}')"
            files: tuple[Path, ...] = (path,)
        elif kind == "parquet_dir":
            reader = f"read_parquet('{quoted}/**/*.parquet')"
            files = tuple(sorted(path.rglob("*.parquet")))
        else:
            delim = "|" if kind == "txt" else ","
            reader = (
                f"read_csv('{quoted}', all_varchar = true, header = true, delim = '{delim}', "
                "quote = '\"', escape = '\"')"
            )
            files = (path,)
        relation = f"src_{name}"
        try:
            con.raw_sql(f'CREATE OR REPLACE VIEW "{relation}" AS SELECT * FROM {reader}')
            schema = con.table(relation).schema()
        except Exception as exc:
            con.disconnect()
            tmp.cleanup()
            raise ExtractError(
                f"Cannot read table {name} from {path}: {str(exc).splitlines()[0]}"
            ) from None
        tables[name] = _make_source(name, relation, dict(schema.items()), str(path), files)
    ex = Extract(
        engine="duckdb",
        con=con,
        source=str(folder),
        tables=tables,
        unknown_files=tuple(unknown),
        _tempdir=tmp,
    )
    weakref.finalize(ex, tmp.cleanup)
    return ex


def _open_duckdb_file(path: Path) -> Extract:
    con, tmp = _duckdb_connection()
    try:
        con.raw_sql(f"ATTACH '{_sql_str(str(path))}' AS src (READ_ONLY)")
        rows = con.con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'src' AND table_schema = 'main'"
        ).fetchall()
        names = [str(r[0]) for r in rows]
    except Exception as exc:
        con.disconnect()
        tmp.cleanup()
        raise ExtractError(
            f"Cannot open DuckDB extract {path}: {str(exc).splitlines()[0]}"
        ) from None
    tables: dict[str, SourceTable] = {}
    unknown: list[str] = []
    for relation in sorted(names):
        name = canonical_table_name(relation)
        if name is None:
            if not relation.startswith("_"):
                unknown.append(relation)
            continue
        if name in tables:
            raise ExtractError(
                f"Table {name} appears twice in {path}: {tables[name].relation} and {relation}."
            )
        con.raw_sql(f'CREATE OR REPLACE VIEW "src_{name}" AS SELECT * FROM src.main."{relation}"')
        schema = con.table(f"src_{name}").schema()
        tables[name] = _make_source(
            name, f"src_{name}", dict(schema.items()), f"{path} table {relation}", (path,)
        )
    ex = Extract(
        engine="duckdb",
        con=con,
        source=str(path),
        tables=tables,
        unknown_files=tuple(unknown),
        _tempdir=tmp,
    )
    weakref.finalize(ex, tmp.cleanup)
    return ex


def _open_spark(source: str | Path | Mapping[str, pd.DataFrame], spark: Any) -> Extract:
    """Spark reading: a catalog database, a folder read by Spark, or DataFrames as temp views."""
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise ExtractError(
                "engine='spark' needs a SparkSession: pass spark=SparkSession to load_extract."
            )
    con = ibis.pyspark.connect(spark)
    prefix = f"iaptkit_{hashlib.sha1(repr((id(con), str(source))).encode()).hexdigest()[:10]}"
    tables: dict[str, SourceTable] = {}
    unknown: list[str] = []
    if isinstance(source, Mapping):
        for name, key, frame in _checked_frames(source):
            arrow = _frame_to_arrow(frame)
            view = f"{prefix}_{name.lower()}"
            from pyspark.sql.types import StringType, StructField, StructType

            text_schema = StructType([StructField(c, StringType()) for c in arrow.column_names])
            rows = list(zip(*(arrow[c].to_pylist() for c in arrow.column_names), strict=True))
            spark.createDataFrame(rows, schema=text_schema).createOrReplaceTempView(view)
            kinds = {str(c): str(frame[c].dtype) for c in frame.columns}
            tables[name] = _make_source(name, view, kinds, f"table {key!r} (DataFrame)")
        return Extract(engine="spark", con=con, source="DataFrames (Spark)", tables=tables)
    path = Path(source)
    if path.is_dir():
        found, unknown = _table_files(path)
        for name, (file, kind) in found.items():
            view = f"{prefix}_{name.lower()}"
            try:
                if kind.startswith("parquet"):
                    frame = spark.read.parquet(str(file))
                else:
                    frame = (
                        spark.read.option("header", True)
                        .option("sep", "|" if kind == "txt" else ",")
                        .option("quote", '"')
                        .option("escape", '"')
                        .csv(str(file))
                    )
            except Exception as exc:
                raise ExtractError(
                    f"Cannot read table {name} from {file}: {str(exc).splitlines()[0]}"
                ) from None
            frame.createOrReplaceTempView(view)
            schema = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
            files = (file,) if file.is_file() else tuple(sorted(file.rglob("*.parquet")))
            tables[name] = _make_source(name, view, schema, str(file), files)
        return Extract(
            engine="spark", con=con, source=str(path), tables=tables, unknown_files=tuple(unknown)
        )
    database = str(source)
    if not spark.catalog.databaseExists(database):
        raise ExtractError(
            f"Extract {database!r} is neither a folder nor a database in the Spark catalog; "
            f"databases present: {', '.join(d.name for d in spark.catalog.listDatabases())}."
        )
    for entry in sorted(spark.catalog.listTables(database), key=lambda t: t.name):
        if entry.isTemporary:
            continue
        canonical = canonical_table_name(entry.name)
        if canonical is None:
            if not entry.name.startswith("_"):
                unknown.append(entry.name)
            continue
        name = canonical
        if name in tables:
            raise ExtractError(
                f"Table {name} appears twice in Spark database {database}: "
                f"{tables[name].relation} and {entry.name}."
            )
        frame = spark.table(f"`{database}`.`{entry.name}`")
        schema = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        tables[name] = _make_source(
            name, entry.name, schema, f"Spark table {database}.{entry.name}", database=database
        )
    return Extract(
        engine="spark",
        con=con,
        source=f"Spark database {database}",
        tables=tables,
        unknown_files=tuple(unknown),
    )
