"""The driver of the standalone-cluster test, run as its own process (one SparkContext each).

``python spark_cluster_driver.py MASTER_URL EXTRACT_FOLDER OUT_FOLDER`` connects to the
cluster, saves the extract's tables into a catalog database with ``saveAsTable``, loads it by
``database.table`` names, derives the pathways and every measure family, writes the measures
back as a catalog table (``--write-table``), and writes what it saw to ``OUT/result.json`` and
the results as parquet files for the test to compare with DuckDB.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from iaptkit.cli.measures import measures_command
from iaptkit.data import load_extract
from iaptkit.data.staging import spark_job_count
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.published import published_measures

AS_AT = date(2024, 3, 31)
START = date(2023, 10, 1)
# every family for two breakdowns: one combined (provider, a derived attribute, their groups)
BY = ("england", "provider x age_band")
DATABASE = "iaptkit_cluster_test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _executors(ui_port: int) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{ui_port}/api/v1/applications"
    with urllib.request.urlopen(base, timeout=30) as r:
        app = json.load(r)[0]["id"]
    with urllib.request.urlopen(f"{base}/{app}/executors", timeout=30) as r:
        rows: list[dict[str, Any]] = json.load(r)
    return rows


def main(master: str, folder: Path, out: Path) -> None:
    ui_port = _free_port()
    spark = (
        SparkSession.builder.master(master)
        .appName("iaptkit-cluster-test")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.executor.memory", "512m")  # Spark's minimum is 450m
        .config("spark.executor.cores", "1")
        .config("spark.cores.max", "2")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(out / "warehouse"))
        .config("spark.ui.port", str(ui_port))
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    for path in sorted(folder.glob("IDS*.parquet")):
        spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable(f"{DATABASE}.{path.stem}")
    extract = load_extract(DATABASE, spark=spark, engine="spark")
    jobs_before = spark_job_count(spark)
    pathways = derive_pathways(extract, AS_AT)
    jobs_derive = spark_job_count(spark) - jobs_before
    measures = published_measures(extract, START, AS_AT, BY)
    jobs_all = spark_job_count(spark) - jobs_before
    pathways.to_parquet(out / "pathways.parquet")
    measures.to_parquet(out / "measures.parquet")
    measures_command(
        DATABASE,
        start=str(START),
        end=str(AS_AT),
        output=out / "cli_measures.csv",
        by="england,provider",
        use_nhs_flags=False,
        policy="none",
        definitions=None,
        engine="spark",
        families="outcomes",
        write_table_name="iaptkit_results.measures_test",
    )
    written = spark.table("iaptkit_results.measures_test").toPandas()
    written.to_parquet(out / "written_table.parquet")
    # the interpreter of the Python workers (a Python job run only to ask them)
    worker_pythons = sorted(
        set(spark.sparkContext.parallelize(range(4), 4).map(lambda _: sys.executable).collect())
    )
    result = {
        "engine": extract.engine,
        "backend": extract.con.name,
        "master": spark.sparkContext.master,
        "jobs_derive": jobs_derive,
        "jobs_derive_and_measures": jobs_all,
        "executors": [
            {"id": e["id"], "totalTasks": e["totalTasks"], "hostPort": e["hostPort"]}
            for e in _executors(ui_port)
        ],
        "worker_pythons": worker_pythons,
        "tables": sorted(t.name for t in spark.catalog.listTables(DATABASE)),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
