"""Stage boundaries of a derivation: where Spark materialises a relation, DuckDB goes on lazily.

One ibis definition serves both engines, but the engines plan it differently.

* **DuckDB** plans a whole derivation (hundreds of joins, windows and aggregates) in
  milliseconds and streams it in one pass; materialising inside it would only add writes.
  :func:`materialise` is a no-op there.
* **Spark** (Catalyst) re-analyses and re-optimises the *whole* nested plan of every query, and
  ibis's ``Table.cache()`` on Spark is ``DataFrame.cache()``: a lazy cache whose temporary view
  still carries the full plan. A derivation that reads the same relation from several places
  (contacts, scores, the ledger) then hands Catalyst plans whose string form is megabytes long:
  minutes of planning for seconds of work, growing with the plan, not the data. On Spark
  :func:`materialise` therefore computes the relation once, at the boundary, and cuts its
  lineage (:class:`iaptkit.data.spark_staging.StagedSparkBackend`): the next stage's plan
  starts from a scan of the materialised rows, so every query Catalyst sees is small.

Every stage is named: the name labels the Spark jobs of the stage (the Spark UI and the job
count of :func:`spark_job_count` tell which stage ran what).
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

__all__ = ["is_spark", "materialise", "spark_job_count"]


def is_spark(expr: ir.Table) -> bool:
    """Whether ``expr`` runs on Spark (ibis's PySpark backend).

    Examples
    --------
    >>> import ibis
    >>> is_spark(ibis.memtable({"a": [1]}))
    False
    """
    try:
        backend = expr._find_backend(use_default=False)
    except Exception:  # an unbound expression (memtables only): not Spark
        return False
    return getattr(backend, "name", "") == "pyspark"


def materialise(expr: ir.Table, name: str) -> ir.Table:
    """A stage boundary: ``expr`` computed once on Spark, unchanged (lazy) on DuckDB.

    Parameters
    ----------
    expr
        The relation at the end of a stage.
    name
        The stage's name (labels its Spark jobs).

    Returns
    -------
    ibis.Table
        On Spark, a table over the materialised rows (its plan is a scan: the stages after it
        are planned without re-planning this one); otherwise ``expr`` itself.

    Notes
    -----
    On Spark the rows are held by the executors until the returned table is released
    (``Table.release()``) or garbage collected; how they are held (checkpoint or cache) is the
    backend's (:mod:`iaptkit.data.spark_staging`).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"a": [1, 2]})
    >>> materialise(t, "example") is t
    True
    """
    if not is_spark(expr):
        return expr
    backend: Any = expr._find_backend(use_default=False)
    label = getattr(backend, "label_stage", None)
    if label is not None:
        label(name)
    return expr.cache()


def spark_job_count(session: Any) -> int:
    """How many Spark jobs the session's context has started so far (``statusTracker``).

    Parameters
    ----------
    session
        A ``SparkSession``.

    Returns
    -------
    int
        The largest job id seen plus one (job ids count up from 0), 0 before any job.
    """
    tracker = session.sparkContext.statusTracker()
    ids = list(tracker.getJobIdsForGroup(None))
    return max(ids) + 1 if ids else 0
