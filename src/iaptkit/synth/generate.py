"""Realistic synthetic IAPT v2.x extracts (never real data).

:func:`write_synthetic` simulates pathways (:mod:`iaptkit.synth.model`), cuts them into
monthly submissions with resubmissions and refreshes (:mod:`iaptkit.synth.writer`),
optionally computes the NHS-derived IDS101 fields from its own truth
(:mod:`iaptkit.synth.nhs`) and injects data-quality faults
(:mod:`iaptkit.synth.faults`). It writes one file per IDS table, named as
:data:`iaptkit.data.schema.TABLES`, plus ``_synth.json`` describing the run. The same seed gives
the same files byte for byte (no timestamps anywhere).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iaptkit._version import __version__
from iaptkit.data.schema import TABLES
from iaptkit.errors import ConfigError
from iaptkit.synth.faults import FaultInjector
from iaptkit.synth.model import simulate
from iaptkit.synth.nhs import build_index
from iaptkit.synth.writer import MonthCutter, TableSink, arrow_schema

__all__ = ["METADATA_FILE", "SynthSummary", "write_synthetic"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
METADATA_FILE = "_synth.json"


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`write_synthetic` wrote.

    Parameters
    ----------
    folder
        The output folder.
    pathways
        Number of simulated pathways (referrals).
    rows
        Rows written per table.
    faults
        Injected faults: ``{rule: {"Table.Column": rows}}``.
    seconds
        Wall time of the run.
    """

    folder: Path
    pathways: int
    rows: Mapping[str, int]
    faults: Mapping[str, Mapping[str, int]]
    seconds: float

    @property
    def rate(self) -> float:
        """Pathways generated per second."""
        return self.pathways / self.seconds if self.seconds > 0 else float("inf")


def _parse_month(start: str) -> int:
    match = _MONTH.match(start.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"start: expected a month as YYYY-MM (e.g. 2023-04), found {start!r}.")
    return (int(match.group(1)) - 1970) * 12 + int(match.group(2)) - 1


def write_synthetic(
    out: str | Path,
    *,
    pathways: int,
    start: str = "2023-04",
    months: int = 12,
    providers: int = 8,
    seed: int = 1,
    fmt: Literal["parquet", "csv"] = "parquet",
    with_nhs_fields: bool = False,
    faults: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Write a synthetic IAPT v2.x extract to the folder ``out``.

    Parameters
    ----------
    out
        Output folder (created; existing table files are overwritten).
    pathways
        Number of referrals (pathways), received uniformly over the months.
    start
        First month, ``YYYY-MM``.
    months
        Number of monthly submissions per provider.
    providers
        Number of providers (at most 499).
    seed
        Random seed: the same seed gives the same files.
    fmt
        ``"parquet"`` (codes, ids and scores as strings; dates as dates) or ``"csv"``.
    with_nhs_fields
        Also write the NHS-derived IDS101 fields, computed as at the end of each row's month
        from the generator's own truth (docs/measures.md §1).
    faults
        Rate (0 to 1) at which each data-quality fault is injected into eligible rows; exact
        counts are recorded in ``_synth.json``.
    progress
        Called with ``(months done, months)`` after each month.

    Returns
    -------
    SynthSummary
        Row counts, fault counts and timing.

    Raises
    ------
    ConfigError
        If a parameter is out of range.

    Notes
    -----
    Table structure and monthly resubmission follow ``docs/data-model.md``; score
    tools, ranges and thresholds ``docs/measures.md`` §4; calibration targets the
    England figures in ``docs/measures.md`` ("Published England figures").

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     s = write_synthetic(d, pathways=200, months=2, providers=2, seed=3)
    ...     sorted(p.name for p in Path(d).iterdir())[:2]
    ['IDS000Header.parquet', 'IDS001MPI.parquet']
    >>> s.rows["IDS000Header"] >= 4
    True
    """
    started = time.perf_counter()
    if pathways < 1:
        raise ConfigError(f"pathways: expected a positive number, found {pathways}.")
    if not 1 <= months <= 240:
        raise ConfigError(f"months: expected 1 to 240, found {months}.")
    if not 1 <= providers <= 499:
        raise ConfigError(f"providers: expected 1 to 499, found {providers}.")
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"format: expected parquet or csv, found {fmt!r}.")
    if not 0.0 <= faults <= 0.2:
        raise ConfigError(f"faults: expected a rate between 0 and 0.2, found {faults}.")
    month0 = _parse_month(start)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"out: expected a folder, found a file at {folder}.")
    folder.mkdir(parents=True, exist_ok=True)
    stale = sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file()
        and path.name != f"{path.name.split('.')[0]}.{fmt}"
        and path.name.split(".")[0].lower() in {t.lower() for t in TABLES}
    )
    if stale:
        raise ConfigError(
            f"out: {folder} already holds other table files ({', '.join(stale[:3])}"
            f"{', ...' if len(stale) > 3 else ''}) that a loader would read with the new "
            f"{fmt} files; choose an empty folder or remove them."
        )
    model_seq, cut_seq, fault_seq = np.random.SeedSequence(seed).spawn(3)
    truth = simulate(pathways, month0, months, providers, np.random.default_rng(model_seq))
    index = build_index(truth) if with_nhs_fields else None
    cutter = MonthCutter(truth, index, np.random.default_rng(cut_seq))
    injector = FaultInjector(faults, np.random.default_rng(fault_seq)) if faults > 0 else None
    schemas = {
        name: arrow_schema(name, with_nhs_fields=with_nhs_fields, faults=faults > 0)
        for name in TABLES
    }
    sink = TableSink(folder, fmt, schemas)
    pathway_ids = pc.binary_join_element_wise(
        "PW", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, pathways + 1)), pa.string()), 9, "0"), ""
    )
    try:
        for m in range(months):
            tables = cutter.month(m, pathway_ids)
            if injector is not None:
                tables = injector.inject(tables, schemas)
            for name in TABLES:
                sink.write(name, tables[name])
            if progress is not None:
                progress(m + 1, months)
    finally:
        sink.close()
    fault_counts = injector.counts() if injector is not None else {}
    meta: dict[str, Any] = {
        "generator": "iaptkit.synth.generate",
        "iaptkit_version": __version__,
        "note": "Synthetic data: never real patients.",
        "parameters": {
            "pathways": pathways,
            "start": start,
            "months": months,
            "providers": providers,
            "seed": seed,
            "format": fmt,
            "with_nhs_fields": with_nhs_fields,
            "faults": faults,
        },
        "seed": seed,
        "row_counts": dict(sorted(sink.rows.items())),
        "faults": fault_counts,
    }
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return SynthSummary(
        folder=folder,
        pathways=pathways,
        rows=MappingProxyType(dict(sink.rows)),
        faults=MappingProxyType({k: MappingProxyType(v) for k, v in fault_counts.items()}),
        seconds=time.perf_counter() - started,
    )
