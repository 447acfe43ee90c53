"""Reading an extract on DuckDB: a folder of table files, a DuckDB file, or DataFrames.

Every reader makes DuckDB views (or, for DataFrames, tables of text) over the source, with a
temporary spill folder so a large extract never runs out of memory; nothing is read until a
result is executed. Files are read with all CSV columns as text; parquet keeps its types and
:mod:`iaptkit.data.parsing` types both the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from iaptkit.data.csv_files import check_header, read_error_message
from iaptkit.data.schema import canonical_table_name
from iaptkit.data.sources import (
    OpenedSource,
    SourceTable,
    checked_frames,
    frame_to_arrow,
    make_source,
    table_files,
)
from iaptkit.errors import ExtractError

__all__ = ["duckdb_connection", "open_duckdb_file", "open_folder", "open_mapping", "sql_text"]


def duckdb_connection() -> tuple[Any, tempfile.TemporaryDirectory[str]]:
    """A new in-memory DuckDB ibis backend that spills to its own temporary folder.

    Returns
    -------
    tuple
        The ibis backend and the ``TemporaryDirectory`` holding its spill folder.
    """
    tmp = tempfile.TemporaryDirectory(prefix="iaptkit-duckdb-")
    con = ibis.duckdb.connect()
    spill = Path(tmp.name) / "spill"
    spill.mkdir()
    con.raw_sql(f"SET temp_directory = '{sql_text(str(spill))}'")
    con.raw_sql("SET preserve_insertion_order = false")
    return con, tmp


def sql_text(text: str) -> str:
    """``text`` for a single-quoted SQL literal (quotes doubled).

    Parameters
    ----------
    text
        Any text, e.g. a path.

    Returns
    -------
    str

    Examples
    --------
    >>> sql_text("it's")
    "it''s"
    """
    return text.replace("'", "''")


def open_mapping(source: Mapping[str, pd.DataFrame]) -> OpenedSource:
    """Hold DataFrames as DuckDB tables of text, exactly as if read from CSV.

    Parameters
    ----------
    source
        Table name (any case) -> DataFrame.

    Returns
    -------
    OpenedSource
    """
    checked = checked_frames(source)
    con, tmp = duckdb_connection()
    tables: dict[str, SourceTable] = {}
    for name, key, frame in checked:
        arrow = frame_to_arrow(frame)
        relation = f"src_{name}"
        con.create_table(relation, arrow, overwrite=True)
        kinds = {str(c): str(frame[c].dtype) for c in frame.columns}
        tables[name] = make_source(name, relation, kinds, f"table {key!r} (DataFrame)")
    return OpenedSource("duckdb", con, "DataFrames", tables, tempdir=tmp)


def open_folder(folder: Path) -> OpenedSource:
    """Make a DuckDB view over each table file of a folder (CSV read as text).

    Parameters
    ----------
    folder
        One file per table: ``<Table>.parquet|.csv|.csv.gz|.txt`` or a folder of parquet.

    Returns
    -------
    OpenedSource

    Raises
    ------
    ExtractError
        If a file cannot be read or a table appears twice.
    """
    found, unknown = table_files(folder)
    headers: dict[str, list[str]] = {}
    for name, (path, kind) in found.items():
        if kind in ("csv", "txt"):
            headers[name] = check_header(name, path, "|" if kind == "txt" else ",")
    con, tmp = duckdb_connection()
    try:
        return _open_files(found, unknown, folder, con, tmp, headers)
    except BaseException:
        con.disconnect()
        tmp.cleanup()
        raise


def _open_files(
    found: dict[str, tuple[Path, str]],
    unknown: list[str],
    folder: Path,
    con: Any,
    tmp: Any,
    headers: Mapping[str, list[str]],
) -> OpenedSource:
    tables: dict[str, SourceTable] = {}
    for name, (path, kind) in found.items():
        quoted = sql_text(str(path))
        if kind == "parquet":
            reader = f"read_parquet('{quoted}')"
            files: tuple[Path, ...] = (path,)
        elif kind == "parquet_dir":
            reader = f"read_parquet('{quoted}/**/*.parquet')"
            files = tuple(sorted(path.rglob("*.parquet")))
        else:
            delim = "|" if kind == "txt" else ","
            # the columns from the header already read: no sniffing, so a damaged line is an
            # error naming its line when the rows are counted (iaptkit.data.ledger.count_rows)
            columns = ", ".join(f"'{sql_text(c)}': 'VARCHAR'" for c in headers[name])
            reader = (
                f"read_csv('{quoted}', columns = {{{columns}}}, auto_detect = false, "
                f"header = true, delim = '{delim}', quote = '\"', escape = '\"')"
            )
            files = (path,)
        relation = f"src_{name}"
        try:
            con.raw_sql(f'CREATE OR REPLACE VIEW "{relation}" AS SELECT * FROM {reader}')
            schema = con.table(relation).schema()
        except Exception as exc:
            raise ExtractError(read_error_message(name, str(path), exc)) from None
        tables[name] = make_source(name, relation, dict(schema.items()), str(path), files)
    return OpenedSource("duckdb", con, str(folder), tables, tuple(unknown), tmp)


def open_duckdb_file(path: Path) -> OpenedSource:
    """Attach a DuckDB database file read-only and make a view over each IDS table.

    Parameters
    ----------
    path
        The ``*.duckdb`` file; its tables in schema ``main`` are read.

    Returns
    -------
    OpenedSource

    Raises
    ------
    ExtractError
        If the file cannot be opened or a table appears twice.
    """
    con, tmp = duckdb_connection()
    try:
        con.raw_sql(f"ATTACH '{sql_text(str(path))}' AS src (READ_ONLY)")
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
        tables[name] = make_source(
            name, f"src_{name}", dict(schema.items()), f"{path} table {relation}", (path,)
        )
    return OpenedSource("duckdb", con, str(path), tables, tuple(unknown), tmp)
