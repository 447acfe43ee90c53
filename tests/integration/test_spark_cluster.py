"""iaptkit on a real Spark cluster: a standalone master and two workers on this machine.

The cluster (a master and two workers, each its own JVM process, 512 MB per worker) starts once
for the test session and stops at its end. The driver (``spark_cluster_driver.py``, its own
process: one SparkContext per process) saves a synthetic extract's tables into a catalog
database with ``saveAsTable``, loads them by ``database.table`` names, derives the pathways and
every measure family there, and writes the measures back as a catalog table. The test holds
each value to DuckDB's on the same files, and checks that Spark did the work: jobs were run,
tasks ran on the two executors (not the driver), the workers' Python is this interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from iaptkit.measures.families.specs import FAMILIES

pytest.importorskip("pyspark", reason="pyspark is an optional extra (iaptkit[spark])")

from iaptkit.data import load_extract
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.published import published_measures
from iaptkit.synth.generate import write_synthetic

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from spark_cluster_driver import AS_AT, BY, START  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _master_state(ui_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json", timeout=5) as r:
        state: dict[str, Any] = json.load(r)
        return state


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and two workers (1 core, 512 MB each); yields the master URL."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed (needed by Spark)")
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    logs = tmp_path_factory.mktemp("spark_cluster")
    env = dict(os.environ, SPARK_DAEMON_MEMORY="256m", PYSPARK_PYTHON=sys.executable)
    env["SPARK_LOG_DIR"] = str(logs)
    port, ui = _free_port(), _free_port()
    master = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], log: str) -> None:
        with (logs / log).open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(spark_class), *args], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )

    try:
        start(
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            "master.log",
        )
        for k in range(2):
            start(
                [
                    "org.apache.spark.deploy.worker.Worker",
                    master,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "512m",
                    "--webui-port",
                    str(_free_port()),
                    "--work-dir",
                    str(logs / f"worker{k}"),
                ],
                f"worker{k}.log",
            )
        deadline = time.monotonic() + 180
        alive = 0
        while time.monotonic() < deadline:
            try:
                alive = sum(w["state"] == "ALIVE" for w in _master_state(ui)["workers"])
            except OSError:
                alive = 0
            if alive == 2:
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(1)
        if alive != 2:
            text = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs.glob("*.log"))
            pytest.fail(
                f"the Spark cluster did not start (2 workers expected, {alive} alive):\n{text}"
            )
        yield master
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def cluster_run(
    spark_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("cluster_extract")
    write_synthetic(folder, pathways=200, start="2023-10", months=6, providers=3, seed=21)
    out = tmp_path_factory.mktemp("cluster_out")
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "spark_cluster_driver.py"),
            spark_cluster,
            str(folder),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        # the driver tells the executors which Python to start: this one (pyspark reads
        # PYSPARK_PYTHON; without it, the first python3 on the PATH)
        env=dict(os.environ, PYSPARK_PYTHON=sys.executable),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return folder, out, json.loads((out / "result.json").read_text(encoding="utf-8"))


def test_the_work_ran_on_the_cluster_workers(
    cluster_run: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, _, seen = cluster_run
    # never a silent fall-back: the extract was read on Spark, through the cluster's master
    assert seen["engine"] == "spark"
    assert seen["backend"] == "pyspark"
    assert seen["master"].startswith("spark://127.0.0.1:")
    assert seen["jobs_derive"] > 0
    assert seen["jobs_derive_and_measures"] > seen["jobs_derive"]
    workers = [e for e in seen["executors"] if e["id"] != "driver"]
    assert len(workers) == 2
    assert all(e["totalTasks"] > 0 for e in workers), seen["executors"]
    assert seen["worker_pythons"] == [sys.executable]
    assert "ids101referral" in seen["tables"]


def test_cluster_values_equal_duckdb(cluster_run: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, out, _ = cluster_run
    with load_extract(folder) as on_duckdb:
        pathways = derive_pathways(on_duckdb, AS_AT)
        measures = published_measures(on_duckdb, START, AS_AT, BY)
    got_pathways = pd.read_parquet(out / "pathways.parquet")
    got_measures = pd.read_parquet(out / "measures.parquet")
    # DuckDB's results through the same parquet round trip (missing text reads back as NaN)
    pathways.to_parquet(out / "duckdb_pathways.parquet")
    measures.to_parquet(out / "duckdb_measures.parquet")
    pathways = pd.read_parquet(out / "duckdb_pathways.parquet")
    measures = pd.read_parquet(out / "duckdb_measures.parquet")
    assert len(pathways) == 200
    pd.testing.assert_frame_equal(got_pathways, pathways, check_dtype=False)
    # every family, every breakdown, every value
    assert measures["family"].nunique() == len(FAMILIES)  # every family, none dropped
    pd.testing.assert_frame_equal(got_measures, measures, check_dtype=False)
    assert measures[measures.measure == "finished_treatment"].value.sum() > 0


def test_write_table_holds_the_cli_result(cluster_run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, _ = cluster_run
    written = pd.read_parquet(out / "written_table.parquet")
    csv = pd.read_csv(out / "cli_measures.csv")
    assert len(written) == len(csv) > 0
    key = [c for c in ("breakdown", "group", "measure") if c in csv.columns]
    a = written.sort_values(key).reset_index(drop=True)
    b = csv.sort_values(key).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert a["value"].astype(float).tolist() == pytest.approx(b["value"].astype(float).tolist())
