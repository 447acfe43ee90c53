"""Open an IAPT v2.x extract lazily into ibis relations (DuckDB or Spark).

An extract is opened once with :func:`load_extract`: a folder of table files, a DuckDB database
file or DataFrames are read by :mod:`iaptkit.data.duckdb_sources`, a Spark database or a folder
read by Spark by :mod:`iaptkit.data.spark_sources`. Every table is then a lazy ibis relation
of the :class:`~iaptkit.data.extract.Extract` returned.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from iaptkit.data.duckdb_sources import open_duckdb_file, open_folder, open_mapping
from iaptkit.data.extract import Extract
from iaptkit.data.sources import OpenedSource
from iaptkit.errors import ExtractError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

# ``Extract`` is named here too for callers that import it from this module; its home is
# :mod:`iaptkit.data.extract`.
__all__ = ["Extract", "load_extract"]


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
    Sources and naming from ``docs/data-model.md`` ("Where an extract lives").

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
        # imported here: ibis's PySpark backend takes a second to import, which every DuckDB
        # command would otherwise pay
        from iaptkit.data.spark_sources import open_spark

        return _extract(open_spark(source, spark))
    if isinstance(source, Mapping):
        return _extract(open_mapping(source))
    path = Path(source)
    if path.is_dir():
        return _extract(open_folder(path))
    if path.is_file():
        if path.suffix.lower() in (".duckdb", ".db", ".ddb"):
            return _extract(open_duckdb_file(path))
        raise ExtractError(
            f"Cannot read extract {path}: expected a folder of table files or a DuckDB "
            f"database file (*.duckdb), found a file with suffix {path.suffix!r}."
        )
    raise ExtractError(
        f"Extract {path} does not exist: expected a folder of table files, a DuckDB file "
        "(*.duckdb), or a Spark database name (pass spark=SparkSession)."
    )


def _extract(opened: OpenedSource) -> Extract:
    """The Extract over what a reader opened; DuckDB's spill folder goes with it."""
    ex = Extract(
        engine=opened.engine,
        con=opened.con,
        source=opened.source,
        tables=opened.tables,
        unknown_files=opened.unknown_files,
        _tempdir=opened.tempdir,
    )
    if opened.tempdir is not None:
        weakref.finalize(ex, opened.tempdir.cleanup)
    return ex
