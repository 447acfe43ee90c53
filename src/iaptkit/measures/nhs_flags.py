"""The pathway table built from the NHS-derived IDS101 fields (``--use-nhs-flags``).

DAE extracts usually carry fields NHS England derives at submission time (docs/data-model.md,
"NHS-derived pathway fields"): first/second session dates, the treatment count, the completed
treatment flag, first/last scores and the outcome flags. With ``use_nhs_flags=True`` the
published measures are computed from those fields instead of iaptkit's own derivation, so the
two can be compared. This module lays them out as the same pathway table
(docs/module-contracts.md, "Pathway table") from ``extract.referrals_as_at(as_at)`` plus the
breakdown attributes of :func:`iaptkit.measures.breakdown_attributes.add_breakdown_attributes`.

Rules applied on top of the NHS fields, so that the table means the same as the derived one:

- a pathway discharged after the as-at date is open (the loader nulls its ServDischDate), so
  its CompletedTreatment_Flag is false whatever the field says;
- outcome flags are false unless CompletedTreatment_Flag (docs/measures.md §1, "Outcome flags");
- ReliableRecovery_Flag, which the NHS fields lack, is Recovery_Flag and
  ReliableImprovement_Flag (docs/measures.md §1);
- wait_to_first_treatment is TherapySession_FirstDate − ReferralRequestReceivedDate in days;
- ProblemDescriptor is the NHS PresentingComplaintLowerCategory (else the higher category,
  else ``Unspecified``): NHS labels, which may differ from iaptkit's category names.

The NHS fields of a row are computed as at the end of that row's month; use a period ending on
a month end for an exact comparison with the derived table.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data import Extract
from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.errors import ExtractError
from iaptkit.measures.breakdown_attributes import add_breakdown_attributes
from iaptkit.measures.pathway_schema import (
    BREAKDOWN_ATTRIBUTES,
    PATHWAY_COLUMNS,
    SCORE_COLUMNS,
    SCORE_TYPE,
    flag_set,
)

__all__ = ["REQUIRED_NHS_FIELDS", "nhs_pathway_table", "nhs_version"]

#: NHS-derived IDS101 fields the published measures need (docs/data-model.md).
REQUIRED_NHS_FIELDS: tuple[str, ...] = (
    "TherapySession_FirstDate",
    "TherapySession_SecondDate",
    "TreatmentCareContact_Count",
    "CompletedTreatment_Flag",
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
)

_REFERRALS = "IDS101Referral"


def nhs_version(definitions: Definitions) -> str:
    """The ``definitions_version`` written on measures computed from NHS-derived fields.

    Parameters
    ----------
    definitions
        The definitions used for the breakdown attributes (age bands, groups).

    Returns
    -------
    str
        ``"nhs-derived-fields; breakdowns <version>"``.

    Notes
    -----
    Outputs must say what they were computed from (self-describing:
    docs/release-format.md, "Provenance").

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> nhs_version(load_definitions()).startswith("nhs-derived-fields; breakdowns ")
    True
    """
    return f"nhs-derived-fields; breakdowns {definitions.version}"


def _opt(t: ir.Table, name: str, type_: str) -> ir.Value:
    if name in t.columns:
        return t[name].cast(type_)
    return ibis.null(type_)


def nhs_pathway_table(extract: Extract, as_at: date, definitions: Definitions) -> ir.Table:
    """The pathway table (docs/module-contracts.md columns) from the NHS-derived IDS101 fields.

    Parameters
    ----------
    extract
        The loaded extract; its IDS101 must carry the NHS-derived fields.
    as_at
        The date the pathway state is taken at (the period end).
    definitions
        Definitions for the breakdown attributes.

    Returns
    -------
    ibis.Table
        Lazy; one row per PathwayID with the columns of the derived pathway table.

    Raises
    ------
    ExtractError
        If the extract's IDS101 lacks any of :data:`REQUIRED_NHS_FIELDS`.

    Notes
    -----
    docs/data-model.md "NHS-derived pathway fields" and "which rows count" (state as at a date);
    docs/measures.md §1 for the flags' meaning (see the module docstring for the rules added).

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex = load_extract({"IDS101Referral": pd.DataFrame({"PathwayID": ["a"]})})
    >>> try:
    ...     nhs_pathway_table(ex, date(2024, 3, 31), load_definitions())
    ... except ExtractError as e:
    ...     print(str(e)[:60])
    IDS101Referral has no NHS-derived fields TherapySession_Firs
    """
    missing = [f for f in REQUIRED_NHS_FIELDS if not extract.has_column(_REFERRALS, f)]
    if missing:
        raise ExtractError(
            f"{_REFERRALS} has no NHS-derived fields {', '.join(missing)} in {extract.source}; "
            "--use-nhs-flags needs them (docs/data-model.md, 'NHS-derived pathway fields'). "
            "Run without --use-nhs-flags to derive the measures from the activity tables."
        )
    t = add_breakdown_attributes(extract.referrals_as_at(as_at), definitions)
    discharged = t.ServDischDate.notnull()
    completed = flag_set(t, "CompletedTreatment_Flag") & discharged
    recovery = completed & flag_set(t, "Recovery_Flag")
    improved = completed & flag_set(t, "ReliableImprovement_Flag")
    problem = (
        _opt(t, "PresentingComplaintLowerCategory", "string")
        .fill_null(_opt(t, "PresentingComplaintHigherCategory", "string"))
        .fill_null("Unspecified")
    )
    first = t.TherapySession_FirstDate.cast("date")
    cols: dict[str, Any] = {
        "PathwayID": t.PathwayID,
        **{name: t[name] for name in BREAKDOWN_ATTRIBUTES},
        "ProblemDescriptor": problem,
        "ReferralRequestReceivedDate": t.ReferralRequestReceivedDate,
        "ServDischDate": t.ServDischDate,
        "Assessment_FirstDate": _opt(t, "Assessment_FirstDate", "date"),
        "TherapySession_FirstDate": first,
        "TherapySession_SecondDate": t.TherapySession_SecondDate.cast("date"),
        "TherapySession_LastDate": _opt(t, "TherapySession_LastDate", "date"),
        "TreatmentCareContact_Count": t.TreatmentCareContact_Count.cast("int64").fill_null(0),
        "CompletedTreatment_Flag": completed,
    }
    cols.update({name: _score(t, name) for name in SCORE_COLUMNS})
    cols["ADSM"] = _opt(t, "ADSM", "string")
    cols.update(
        NotCaseness_Flag=completed & flag_set(t, "NotCaseness_Flag"),
        Recovery_Flag=recovery,
        ReliableImprovement_Flag=improved,
        NoChange_Flag=completed & flag_set(t, "NoChange_Flag"),
        ReliableDeterioration_Flag=completed & flag_set(t, "ReliableDeterioration_Flag"),
        ReliableRecovery_Flag=recovery & improved,
        wait_to_first_treatment=first.delta(t.ReferralRequestReceivedDate, unit="day").cast(
            "int64"
        ),
        definitions_version=ibis.literal(nhs_version(definitions)),
    )
    return t.select(**{name: cols[name] for name in PATHWAY_COLUMNS})


def _score(t: ir.Table, name: str) -> ir.Value:
    if name not in t.columns:
        return ibis.null(SCORE_TYPE)
    return strip_blanks(t[name].cast("string")).try_cast(SCORE_TYPE)
