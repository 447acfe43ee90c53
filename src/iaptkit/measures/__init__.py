"""Measures: pathway derivations (measures.md §1) and the published measures (§2–§3).

Public API::

    from iaptkit.measures import (
        load_definitions, Definitions, ScoreMeasure,            # the versioned definitions
        pathway_table, derive_pathways, add_breakdown_attributes,  # one row per pathway
        published_measures, measures_from_pathways, MEASURES,   # the long table of measures
        parse_breakdowns, month, quarter, financial_year, parse_period,  # periods, breakdowns
        wilson_interval, funnel_limits, flag_outliers,          # statistics
    )

The derivation functions are imported on first use (they live in
:mod:`iaptkit.measures.derive`).
"""

from __future__ import annotations

import importlib
from typing import Any

from iaptkit.measures.catalogue import MEASURES, MeasureSpec, parse_breakdowns
from iaptkit.definitions.model import Definitions, ScoreMeasure, load_definitions
from iaptkit.measures.periods import financial_year, month, parse_period, quarter
from iaptkit.measures.published import measures_from_pathways, published_measures
from iaptkit.measures.statistics import flag_outliers, funnel_limits, rate, wilson_interval

__all__ = [
    "MEASURES",
    "Definitions",
    "MeasureSpec",
    "ScoreMeasure",
    "add_breakdown_attributes",
    "derive_pathways",
    "financial_year",
    "flag_outliers",
    "funnel_limits",
    "load_definitions",
    "measures_from_pathways",
    "month",
    "parse_breakdowns",
    "parse_period",
    "pathway_table",
    "published_measures",
    "quarter",
    "rate",
    "wilson_interval",
]

_LAZY = {
    "pathway_table": "iaptkit.measures.derive",
    "derive_pathways": "iaptkit.measures.derive",
    "add_breakdown_attributes": "iaptkit.measures.derive",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'iaptkit.measures' has no attribute {name!r}")
