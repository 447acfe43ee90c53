"""Reconcile iaptkit's derivation with the NHS-derived IDS101 fields, where they are present.

DAE extracts usually carry fields NHS England derives at submission time (docs/data-model.md,
"NHS-derived pathway fields"). :func:`reconcile` compares them, pathway by pathway, with
:func:`iaptkit.measures.derive.derive_pathways` as at the same date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from iaptkit.data import NHS_DERIVED_FIELDS, Extract
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.pathway_schema import PATHWAY_TYPES

__all__ = ["RECONCILED_FIELDS", "reconcile"]

#: NHS-derived fields that are not pathway derivations (the pathway filter) or are coded differently
#: from iaptkit's ProblemDescriptor, so they are not compared.
_NOT_RECONCILED = frozenset(
    {"UsePathway_Flag", "PresentingComplaintHigherCategory", "PresentingComplaintLowerCategory"}
)

#: NHS-derived IDS101 fields compared with the derivation (same names and types as in the pathway
#: table, :data:`~iaptkit.measures.pathway_schema.PATHWAY_TYPES`), taken from the input contract so
#: the two lists cannot drift apart.
RECONCILED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in NHS_DERIVED_FIELDS if f.name not in _NOT_RECONCILED
)

_MAX_EXAMPLES = 5


def _normalise(field: str, value: Any) -> Any:
    """A comparable Python value: None for missing, Decimal scores, date, int, bool, text."""
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):
        return None
    kind = PATHWAY_TYPES[field]
    if kind.is_decimal():
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return str(value).strip()
    if kind.is_date():
        return pd.Timestamp(value).date()
    if kind.is_integer():
        return int(value)
    if kind.is_boolean():
        return bool(value)
    return str(value).strip()


def reconcile(
    extract: Extract, as_at: date, definitions: Definitions | None = None
) -> pd.DataFrame:
    """Per NHS-derived field present in the extract, how many pathways differ from iaptkit.

    Parameters
    ----------
    extract
        An opened :class:`iaptkit.data.Extract`.
    as_at
        The date E of both the derivation and the IDS101 state compared.
    definitions
        Measure definitions; the packaged default when ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per NHS field present in IDS101 (:data:`RECONCILED_FIELDS` order): ``field``,
        ``pathways`` (compared), ``differing``, ``nhs_missing`` (NHS value null, iaptkit not),
        ``iaptkit_missing`` (the reverse), ``examples`` (up to 5 differing PathwayIDs, sorted,
        comma-separated), ``definitions_version``. Empty when no NHS field is present.

    Notes
    -----
    Fields as named in docs/data-model.md "NHS-derived pathway fields" and
    docs/measures.md §1. Two missing values agree; scores are compared as exact decimals (``"10"``
    equals ``10.0000``). ProblemDescriptor is not compared: the NHS categories are coded
    differently.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS101Referral": pd.DataFrame({"UniqueSubmissionID": [1],
    ...     "Unique_MonthID": [1492], "OrgID_Provider": ["R1A"], "PathwayID": ["P1"],
    ...     "ServiceRequestId": ["S1"], "RecordNumber": [1], "OrgIDComm": ["C1"],
    ...     "ReferralRequestReceivedDate": ["2024-07-01"], "SourceOfReferralMH": ["A1"],
    ...     "ServDischDate": [None], "EndCode": [None], "Age_ReferralRequest_ReceivedDate": [30],
    ...     "TreatmentCareContact_Count": [3]})})
    >>> reconcile(ex, date(2024, 7, 31))[["field", "differing", "examples"]].values.tolist()
    [['TreatmentCareContact_Count', 1, 'P1']]
    """
    defs = definitions if definitions is not None else load_definitions()
    present = [f for f in RECONCILED_FIELDS if extract.has_column("IDS101Referral", f)]
    columns = [
        "field",
        "pathways",
        "differing",
        "nhs_missing",
        "iaptkit_missing",
        "examples",
        "definitions_version",
    ]
    if not present:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    ours = derive_pathways(extract, as_at, defs).set_index("PathwayID")
    refs = extract.referrals_as_at(as_at)
    theirs = refs.select("PathwayID", *present).execute().set_index("PathwayID")
    theirs = theirs[~theirs.index.duplicated()].reindex(ours.index)
    rows = []
    for field in present:
        differing: list[str] = []
        nhs_missing = iaptkit_missing = 0
        pairs = zip(ours.index, ours[field].tolist(), theirs[field].tolist(), strict=True)
        for pathway, mine_raw, nhs_raw in pairs:
            mine = _normalise(field, mine_raw)
            nhs = _normalise(field, nhs_raw)
            if mine == nhs:
                continue
            differing.append(str(pathway))
            nhs_missing += nhs is None
            iaptkit_missing += mine is None
        examples = sorted(differing)[:_MAX_EXAMPLES]
        rows.append(
            {
                "field": field,
                "pathways": len(ours),
                "differing": len(differing),
                "nhs_missing": nhs_missing,
                "iaptkit_missing": iaptkit_missing,
                "examples": ", ".join(examples),
                "definitions_version": defs.version,
            }
        )
    return pd.DataFrame(rows, columns=columns)
