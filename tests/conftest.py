"""Suite-wide: the slowest test files are handed to the pytest-xdist workers first.

``make test`` runs ``pytest -n 2 --dist loadfile --no-loadscope-reorder``: each file goes to one
worker, in collection order. By default xdist orders files by their number of tests, so a file
with one long test (the README test runs the demo in a fresh clone) came last and ran alone on
one worker while the other had nothing left. The files below (the slowest of a
``--durations`` profile, slowest first) are collected first; every other file keeps its order.
Longest first is the classic rule for two machines: the short files fill in at the end.
"""

from __future__ import annotations

import pytest

#: Slowest first (seconds of one profile on two workers, eighth session, in brackets).
SLOWEST_FILES: tuple[str, ...] = (
    "tests/integration/test_readme.py",  # (443) the demo and the README in a fresh clone
    "tests/integration/test_spark_cluster.py",  # (294) a standalone Spark cluster
    "tests/integration/test_spark_engine.py",  # (286)
    "tests/integration/test_cli_measures.py",  # (227)
    "tests/unit/test_perf_measures_parts.py",  # (207)
    "tests/integration/test_damaged_extracts.py",  # (188)
    "tests/integration/test_release_joint_cli.py",  # (172)
    "tests/integration/test_release_attacker_scenarios.py",  # (169)
    "tests/notebooks/test_notebooks_run.py",  # (145)
    "tests/integration/test_data_spark.py",  # (141)
    "tests/property/test_sdc_modular.py",  # (129)
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return SLOWEST_FILES.index(path) if path in SLOWEST_FILES else len(SLOWEST_FILES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest files first (a stable sort: the order within a file and of the rest kept)."""
    items.sort(key=_rank)
