"""Reading an extract on Spark: a catalog database, a folder read by Spark, or DataFrames.

The tables become Spark temporary views (or stay catalog tables) read through ibis's PySpark
backend, so the typed, counted and as-at relations are the same ibis code as on DuckDB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from iaptkit.data.schema import canonical_table_name
from iaptkit.data.sources import (
    OpenedSource,
    SourceTable,
    checked_frames,
    frame_to_arrow,
    make_source,
    table_files,
)
from iaptkit.data.spark_staging import connect_staged
from iaptkit.errors import ExtractError

__all__ = ["open_spark", "parquet_footer"]

#: Arrow types whose Spark type reads the parquet column back as written (no time zones, no
#: nanoseconds): for these a table's schema is taken from its footer.
_PLAIN_ARROW = (
    "string", "large_string", "bool", "int8", "int16", "int32", "int64", "float", "double",
    "date32[day]",
)  # fmt: skip


def parquet_footer(file: Path) -> tuple[Any, int] | None:
    """The Spark schema and the row count of one parquet file, read from its footer.

    Why: Spark infers a parquet file's schema with a job (one per table, seconds of a small
    extract's time), and counting its rows is another; the footer holds both, read here in
    milliseconds without Spark. ``None`` (Spark infers) for a folder of files, an unreadable
    footer, or a column type outside :data:`_PLAIN_ARROW` or decimals.

    Parameters
    ----------
    file
        A ``.parquet`` file.

    Returns
    -------
    (pyspark.sql.types.StructType, int) or None
    """
    if not file.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        parquet = pq.ParquetFile(file)
        schema = parquet.schema_arrow
        rows = int(parquet.metadata.num_rows)
    except Exception:  # Spark's own reading reports a damaged file
        return None
    plain = all(str(f.type) in _PLAIN_ARROW or pa.types.is_decimal(f.type) for f in schema)
    return (from_arrow_schema(schema), rows) if plain else None


def open_spark(source: str | Path | Mapping[str, pd.DataFrame], spark: Any) -> OpenedSource:
    """Spark reading: a catalog database, a folder read by Spark, or DataFrames as temp views.

    Parameters
    ----------
    source
        A Spark database name, a folder of table files, or table name -> DataFrame.
    spark
        The SparkSession, or ``None`` for the active one.

    Returns
    -------
    OpenedSource

    Raises
    ------
    ExtractError
        No SparkSession, an unreadable file, an unknown database or a table appearing twice.
    """
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise ExtractError(
                "engine='spark' needs a SparkSession: pass spark=SparkSession to load_extract."
            )
    # cached relations are materialised stages, lineage cut (iaptkit.data.spark_staging)
    con = connect_staged(spark)
    prefix = f"iaptkit_{hashlib.sha1(repr((id(con), str(source))).encode()).hexdigest()[:10]}"
    tables: dict[str, SourceTable] = {}
    unknown: list[str] = []
    if isinstance(source, Mapping):
        for name, key, frame in checked_frames(source):
            arrow = frame_to_arrow(frame)
            view = f"{prefix}_{name.lower()}"
            from pyspark.sql.types import StringType, StructField, StructType

            text_schema = StructType([StructField(c, StringType()) for c in arrow.column_names])
            rows = list(zip(*(arrow[c].to_pylist() for c in arrow.column_names), strict=True))
            spark.createDataFrame(rows, schema=text_schema).createOrReplaceTempView(view)
            kinds = {str(c): str(frame[c].dtype) for c in frame.columns}
            tables[name] = make_source(name, view, kinds, f"table {key!r} (DataFrame)")
        return OpenedSource("spark", con, "DataFrames (Spark)", tables)
    path = Path(source)
    if path.is_dir():
        found, unknown = table_files(path)
        for name, (file, kind) in found.items():
            view = f"{prefix}_{name.lower()}"
            footer = parquet_footer(file) if kind.startswith("parquet") else None
            try:
                if footer is not None:
                    frame = spark.read.schema(footer[0]).parquet(str(file))
                elif kind.startswith("parquet"):
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
            in_footer = footer[1] if footer is not None else None
            tables[name] = make_source(name, view, schema, str(file), files, rows=in_footer)
        return OpenedSource("spark", con, str(path), tables, tuple(unknown))
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
        tables[name] = make_source(
            name, entry.name, schema, f"Spark table {database}.{entry.name}", database=database
        )
    return OpenedSource("spark", con, f"Spark database {database}", tables, tuple(unknown))
