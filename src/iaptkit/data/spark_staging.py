"""The ibis PySpark backend iaptkit reads Spark through: ``Table.cache()`` cuts the lineage.

Why Spark needs it (see :mod:`iaptkit.data.staging`): ibis's PySpark ``cache()`` is
``DataFrame.cache()`` plus a temporary view of the *whole* query, so a later query over the
cached relation is analysed and optimised with the full plan beneath it, each time. Here a
cached relation is computed eagerly and its lineage cut: the temporary view's plan is a scan
of the materialised rows, and every later query is planned from there.

Two ways of holding the rows, chosen by :data:`STAGING`:

* ``"checkpoint"`` (default): ``DataFrame.localCheckpoint(eager=True)``, the rows kept by the
  executors' block managers (memory, then disk) and the plan a scan of them;
* ``"cache"``: ``DataFrame.cache()`` and a count (the plan stays, but every later query finds
  the cached rows instead of recomputing them);
"""

from __future__ import annotations

from typing import Any

from ibis.backends.pyspark import Backend as PySparkBackend

__all__ = ["STAGING", "StagedSparkBackend", "connect_staged"]

#: How :class:`StagedSparkBackend` materialises a cached relation.
STAGING = ("checkpoint", "cache")


class StagedSparkBackend(PySparkBackend):  # type: ignore[misc]
    """ibis's PySpark backend whose ``Table.cache()`` materialises eagerly, lineage cut.

    ``staging`` (attribute): ``"checkpoint"`` (default) or ``"cache"``, see :data:`STAGING`.
    """

    staging: str = "checkpoint"

    def label_stage(self, name: str) -> None:
        """Label the next Spark jobs with the stage's name (Spark UI, status tracker)."""
        self._session.sparkContext.setJobDescription(f"iaptkit stage: {name}")

    def _create_cached_table(self, name: str, expr: Any) -> Any:
        frame = self._session.sql(self.compile(expr))
        if self.staging == "cache":
            frame = frame.cache()
            frame.count()
        else:
            frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._session.sparkContext.setJobDescription(None)
        # held so that releasing the ibis table releases the rows (not only the view)
        self._cached_dataframes[name] = frame
        return self.table(name)

    def _drop_cached_table(self, name: str) -> None:
        self._session.catalog.dropTempView(name)
        frame = self._cached_dataframes.pop(name, None)
        if frame is not None:
            frame.unpersist()


def connect_staged(spark: Any, staging: str = "checkpoint") -> StagedSparkBackend:
    """An ibis connection to ``spark`` whose cached relations are materialised stages.

    Parameters
    ----------
    spark
        The ``SparkSession``.
    staging
        ``"checkpoint"`` or ``"cache"`` (:data:`STAGING`).

    Returns
    -------
    StagedSparkBackend
    """
    backend: StagedSparkBackend = StagedSparkBackend().connect(spark)
    backend.staging = staging
    return backend
