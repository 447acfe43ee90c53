"""Measures: pathway derivations (docs/measures.md §1) and the published measures (§2–§3).

Public API::

    from iaptkit.measures import (
        load_definitions, Definitions, ScoreMeasure,            # the versioned definitions
        pathway_table, derive_pathways, add_breakdown_attributes,  # one row per pathway
        published_measures, measures_from_pathways, MEASURES,   # the long table of measures
        parse_breakdowns, month, quarter, financial_year, parse_period,  # periods, breakdowns
        wilson_interval, funnel_limits, flag_outliers,          # statistics
    )

The pathway table's columns and breakdowns are those of :mod:`iaptkit.measures.pathway_schema`.
"""

from __future__ import annotations

from iaptkit.definitions import Definitions, ScoreMeasure, load_definitions
from iaptkit.measures.breakdown_attributes import add_breakdown_attributes
from iaptkit.measures.catalogue import MEASURES, MeasureSpec, parse_breakdowns
from iaptkit.measures.derive import derive_pathways, pathway_table
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
