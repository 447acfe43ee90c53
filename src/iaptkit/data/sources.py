"""Where the tables of an extract come from: the source of each table, read on any engine.

Reading is the only thing that differs between a folder of files, a DuckDB database file,
DataFrames and a Spark database (:mod:`iaptkit.data.duckdb_sources`,
:mod:`iaptkit.data.spark_sources`). Each reader finds the IDS tables it holds, matches their
columns to the schema case-insensitively and returns an :class:`OpenedSource`: one
:class:`SourceTable` per table. :class:`TableAccess` is what validation needs of an opened
extract (:class:`iaptkit.data.extract.Extract` has it).

Sources and naming follow ``docs/data-model.md`` ("Where an extract lives").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from iaptkit.data.schema import TABLES, canonical_table_name
from iaptkit.errors import ExtractError

__all__ = [
    "TABLE_SUFFIXES",
    "OpenedSource",
    "SourceTable",
    "TableAccess",
    "checked_frames",
    "frame_to_arrow",
    "make_source",
    "table_files",
    "value_text",
]

#: File suffixes of table files and the reader of each.
TABLE_SUFFIXES: tuple[tuple[str, str], ...] = (
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
        Source columns that are not fields of the table (kept in
        :meth:`iaptkit.data.extract.Extract.raw`).
    source_types
        Column name in the source -> its type as read (e.g. ``int64`` for a parquet code).
    location
        A file or table description, for messages.
    files
        The files read (empty for database sources), for the fingerprint.
    database
        The database (Spark catalog) holding ``relation``, if not the current one.
    rows
        The rows of the files when the reader knows them without a query (Spark reading
        parquet files: the footers' row counts); ``None`` otherwise.
    """

    name: str
    relation: str
    columns: Mapping[str, str]
    extra_columns: tuple[str, ...]
    source_types: Mapping[str, str]
    location: str
    files: tuple[Path, ...] = ()
    database: str | None = None
    rows: int | None = None


@dataclass(frozen=True)
class OpenedSource:
    """What a reader found: the backend connection and the source of every IDS table.

    Parameters
    ----------
    engine
        ``"duckdb"`` or ``"spark"``.
    con
        The ibis backend the tables are read on.
    source
        A readable description of where the extract came from.
    tables
        Data-dictionary table name -> its :class:`SourceTable`.
    unknown_files
        Files or tables that are not IDS tables (reported by validation).
    tempdir
        DuckDB's temporary spill folder (``tempfile.TemporaryDirectory``), to clean up on close.
    """

    engine: str
    con: Any
    source: str
    tables: Mapping[str, SourceTable]
    unknown_files: tuple[str, ...] = ()
    tempdir: Any = None


class TableAccess(Protocol):
    """The table access validation needs of an opened extract (an ``Extract`` has it)."""

    @property
    def source(self) -> str:
        """A readable description of where the extract came from."""

    @property
    def tables(self) -> Mapping[str, SourceTable]:
        """Data-dictionary table name -> its source."""

    @property
    def unknown_files(self) -> tuple[str, ...]:
        """Files or tables that are not IDS tables."""

    def table_names(self) -> tuple[str, ...]:
        """The data-dictionary names of the tables present, in schema order."""

    def raw(self, name: str) -> ir.Table:
        """The table as read: canonical column names, every column as text."""

    def table(self, name: str, *, columns: Sequence[str] | None = None) -> ir.Table:
        """The typed table (missing optional fields are typed nulls)."""

    def submissions(self) -> ir.Table:
        """Every submission seen, flagged ``counted`` when it is the latest."""


def column_map(
    name: str, columns: Mapping[str, str], location: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Match source columns to schema fields case-insensitively.

    Parameters
    ----------
    name
        The data-dictionary table name.
    columns
        The source's column names (keys; values are ignored).
    location
        The file or table, for messages.

    Returns
    -------
    tuple
        Canonical field name -> source column, and the source columns that are not fields.

    Raises
    ------
    ExtractError
        If two source columns have the same name in lower case.
    """
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


def make_source(
    name: str,
    relation: str,
    schema: Mapping[str, Any],
    location: str,
    files: tuple[Path, ...] = (),
    database: str | None = None,
    rows: int | None = None,
) -> SourceTable:
    """The :class:`SourceTable` of one table read from ``relation`` on the backend.

    Parameters
    ----------
    name
        The data-dictionary table name.
    relation
        The view or table holding the source rows.
    schema
        Source column -> its type as read.
    location
        The file or table, for messages.
    files
        The files read (for the fingerprint); empty for database sources.
    database
        The database (Spark catalog) holding ``relation``, if not the current one.
    rows
        The rows of the files, if known without a query (:attr:`SourceTable.rows`).

    Returns
    -------
    SourceTable
    """
    types = {str(col): str(dtype) for col, dtype in schema.items()}
    columns, extras = column_map(name, types, location)
    return SourceTable(
        name=name,
        relation=relation,
        columns=columns,
        extra_columns=extras,
        source_types=types,
        location=location,
        files=files,
        database=database,
        rows=rows,
    )


def value_text(value: Any) -> str | None:
    """One value as it would read from CSV text (``None`` for missing).

    Parameters
    ----------
    value
        A DataFrame cell of any type (numpy scalars, dates, decimals, booleans ...).

    Returns
    -------
    str or None

    Examples
    --------
    >>> from datetime import datetime
    >>> value_text(2.0), value_text(True), value_text(datetime(2024, 7, 1)), value_text(None)
    ('2', 'true', '2024-07-01', None)
    """
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
        return value_text(value.item())
    return str(value)


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as an arrow table of text columns, each value as :func:`value_text` gives.

    Parameters
    ----------
    frame
        One table's rows, values of any dtype.

    Returns
    -------
    pyarrow.Table
        The same columns, all ``string``.
    """
    arrays = {
        str(col): pa.array([value_text(v) for v in frame[col].tolist()], type=pa.string())
        for col in frame.columns
    }
    return pa.table(arrays) if arrays else pa.table({})


def checked_frames(
    source: Mapping[str, pd.DataFrame],
) -> list[tuple[str, str, pd.DataFrame]]:
    """Check DataFrames given as an extract: known table names, once each, with columns.

    Parameters
    ----------
    source
        Table name (any case) -> DataFrame.

    Returns
    -------
    list
        ``(canonical name, key given, frame)`` for each DataFrame.

    Raises
    ------
    ExtractError
        An unknown or repeated table name, a value that is not a DataFrame, or no columns.
    """
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


def table_files(folder: Path) -> tuple[dict[str, tuple[Path, str]], list[str]]:
    """The table files of a folder and the entries that are not tables.

    Parameters
    ----------
    folder
        An extract folder; names starting with ``.`` or ``_`` (iaptkit metadata) are skipped.

    Returns
    -------
    tuple
        Table name -> (path, kind: ``parquet``, ``parquet_dir``, ``csv`` or ``txt``), and the
        names of the other entries.

    Raises
    ------
    ExtractError
        If a table appears twice.
    """
    found: dict[str, tuple[Path, str]] = {}
    unknown: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        stem, kind = entry.name, None
        if entry.is_dir():
            kind = "parquet_dir" if any(entry.rglob("*.parquet")) else None
            claimed = entry.name
            for suffix, _ in TABLE_SUFFIXES:
                if claimed.lower().endswith(suffix):
                    claimed = claimed[: -len(suffix)]
            if kind is None and canonical_table_name(claimed) is not None:
                raise ExtractError(
                    f"Table {canonical_table_name(claimed)} in {folder}: {entry.name} is a "
                    "directory holding no parquet files; expected a table file "
                    "(.parquet, .csv, .csv.gz, .txt) or a folder of parquet files."
                )
        else:
            for suffix, k in TABLE_SUFFIXES:
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
