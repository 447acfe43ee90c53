"""The shape of the pathway table: its columns in order, their types, and the breakdowns.

The one home of docs/module-contracts.md "Pathway table" (docs/module-contracts.md): every module
that builds, reads, writes or checks the pathway table takes its column names from here. The
derivation (:mod:`iaptkit.measures.derive`) and the NHS-field table
(:mod:`iaptkit.measures.nhs_flags`) build it; the published measures
(:mod:`iaptkit.measures.counting`) read it; :mod:`iaptkit.measures.pathway_files` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import ibis.expr.datatypes as dt
import ibis.expr.types as ir

__all__ = [
    "BREAKDOWN_ATTRIBUTES",
    "BREAKDOWN_COLUMNS",
    "COUNT_COLUMNS",
    "DATE_COLUMNS",
    "FLAG_COLUMNS",
    "LOOKUP_BREAKDOWNS",
    "MEASURED_COLUMNS",
    "MEASURED_DATE_COLUMNS",
    "MEASURED_FLAG_COLUMNS",
    "PATHWAY_COLUMNS",
    "PATHWAY_TYPES",
    "SCORE_COLUMNS",
    "SCORE_TYPE",
    "flag_set",
]

#: Exact decimal type of every score, threshold and change (``decimal(12,4)``).
SCORE_TYPE = dt.Decimal(precision=12, scale=4)

#: The six breakdown attributes of a referral (text, never null), in table order; added by
#: :func:`iaptkit.measures.breakdown_attributes.add_breakdown_attributes`.
BREAKDOWN_ATTRIBUTES: tuple[str, ...] = (
    "provider",
    "commissioner",
    "age_band",
    "gender",
    "ethnic_group",
    "imd_decile",
)

#: Breakdown name -> pathway-table column (docs/module-contracts.md, "Pathway table"), in the order
#: breakdowns are listed to users; ``england`` is the constant group ``England`` (no column).
BREAKDOWN_COLUMNS: Mapping[str, str | None] = MappingProxyType(
    {
        "england": None,
        **{name: name for name in BREAKDOWN_ATTRIBUTES},
        "problem_descriptor": "ProblemDescriptor",
        "icb": "icb",
        "region": "region",
    }
)
#: The breakdowns from the site's commissioner lookup (Sub-ICB -> ICB -> region), only with a
#: lookup (:mod:`iaptkit.measures.commissioners`); ``all`` does not include them.
LOOKUP_BREAKDOWNS: tuple[str, ...] = ("icb", "region")

#: The boolean outcome flags (docs/measures.md §1, "Outcome flags"), in table order; false unless
#: CompletedTreatment_Flag.
FLAG_COLUMNS: tuple[str, ...] = (
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
    "ReliableRecovery_Flag",
)

#: The score columns (``decimal(12,4)``, null when missing), in table order.
SCORE_COLUMNS: tuple[str, ...] = (
    "PHQ9_FirstScore",
    "PHQ9_LastScore",
    "GAD_FirstScore",
    "GAD_LastScore",
    "ADSM_FirstScore",
    "ADSM_LastScore",
)

#: The date columns, in table order.
DATE_COLUMNS: tuple[str, ...] = (
    "ReferralRequestReceivedDate",
    "ServDischDate",
    "Assessment_FirstDate",
    "TherapySession_FirstDate",
    "TherapySession_SecondDate",
    "TherapySession_LastDate",
)

#: The whole-number columns (int64): the treatment count and the wait in days.
COUNT_COLUMNS: tuple[str, ...] = ("TreatmentCareContact_Count", "wait_to_first_treatment")

#: The columns of the pathway table, in order (docs/module-contracts.md "Pathway table").
PATHWAY_COLUMNS: tuple[str, ...] = (
    "PathwayID",
    *BREAKDOWN_ATTRIBUTES,
    "ProblemDescriptor",
    *DATE_COLUMNS,
    "TreatmentCareContact_Count",
    "CompletedTreatment_Flag",
    *SCORE_COLUMNS[:4],
    "ADSM",
    *SCORE_COLUMNS[4:],
    *FLAG_COLUMNS,
    "wait_to_first_treatment",
    "definitions_version",
)


def _type_of(column: str) -> dt.DataType:
    if column in SCORE_COLUMNS:
        return SCORE_TYPE
    if column in DATE_COLUMNS:
        return dt.date
    if column.endswith("_Flag"):
        return dt.boolean
    if column in COUNT_COLUMNS:
        return dt.int64
    return dt.string


#: Column -> type (docs/module-contracts.md "Pathway table"): scores ``decimal(12,4)``, dates, flags
#: boolean, counts and waits int64, the rest text (PathwayID, attributes, ADSM, version).
PATHWAY_TYPES: Mapping[str, dt.DataType] = MappingProxyType(
    {c: _type_of(c) for c in PATHWAY_COLUMNS}
)

#: The dates the published measures read (the cohorts of docs/measures.md §2).
MEASURED_DATE_COLUMNS: tuple[str, ...] = (
    "ReferralRequestReceivedDate",
    "ServDischDate",
    "TherapySession_FirstDate",
    "TherapySession_SecondDate",
)

#: The flags the published measures read: finished treatment and the outcome flags.
MEASURED_FLAG_COLUMNS: tuple[str, ...] = ("CompletedTreatment_Flag", *FLAG_COLUMNS)

#: The columns the published measures need, besides those of the requested breakdowns.
MEASURED_COLUMNS: tuple[str, ...] = (
    "PathwayID",
    *MEASURED_DATE_COLUMNS,
    "TreatmentCareContact_Count",
    *MEASURED_FLAG_COLUMNS,
    "wait_to_first_treatment",
)


def flag_set(table: ir.Table, name: str) -> ir.BooleanValue:
    """The flag column ``name`` of ``table``, a missing flag read as false.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"Recovery_Flag": [True, None, False]}, schema={"Recovery_Flag": "bool"})
    >>> ibis.duckdb.connect().execute(flag_set(t, "Recovery_Flag")).tolist()
    [True, False, False]
    """
    result: ir.BooleanValue = table[name].fill_null(False)
    return result
