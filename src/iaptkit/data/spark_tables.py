"""Writing results back to a Spark catalog, as Databricks holds them: ``database.table``.

``iaptkit measures --engine spark --write-table DB.TABLE`` hands its result here: a pandas
table (the measures, protected or not) becomes a managed table of the Spark catalog,
replaced if it exists, so that a notebook or a dashboard on the platform reads it by name.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow as pa

from iaptkit.errors import ConfigError

__all__ = ["check_table_name", "save_as_table"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}")


def check_table_name(name: str) -> str:
    """A catalog table name ``database.table`` (or ``catalog.database.table``), checked.

    Raises
    ------
    ConfigError
        If ``name`` is not two or three dot-separated identifiers.

    Examples
    --------
    >>> check_table_name("iapt_results.measures_2024")
    'iapt_results.measures_2024'
    >>> check_table_name("measures")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    iaptkit.errors.ConfigError: --write-table: expected DATABASE.TABLE ..., found 'measures'.
    """
    if _NAME.fullmatch(name) is None:
        raise ConfigError(
            f"--write-table: expected DATABASE.TABLE (letters, digits, _), found {name!r}."
        )
    return name


def save_as_table(frame: pd.DataFrame, name: str, spark: Any) -> int:
    """Write ``frame`` as the catalog table ``name`` (replaced if present); rows written.

    Parameters
    ----------
    frame
        The result (any pandas table; nullable columns stay nullable).
    name
        ``database.table``; the database is created if missing.
    spark
        The ``SparkSession``.

    Returns
    -------
    int
        The rows the table holds, counted back from the catalog.

    Raises
    ------
    ConfigError
        A malformed table name.
    """
    check_table_name(name)
    database = name.rsplit(".", 1)[0]
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    spark.createDataFrame(arrow).write.mode("overwrite").saveAsTable(name)
    return int(spark.table(name).count())
