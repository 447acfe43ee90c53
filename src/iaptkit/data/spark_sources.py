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

__all__ = ["open_spark"]


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
            tables[name] = make_source(name, view, schema, str(file), files)
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
