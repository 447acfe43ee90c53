"""Breakdown attributes of a referral: provider, commissioner, age band, gender, ethnicity, IMD.

docs/measures.md §3: the attributes the published measures are broken down by (besides England and
the problem descriptor), with the labels and bands of the definitions file. The pathway
derivation (:mod:`iaptkit.measures.derive`) and the NHS-field pathway table
(:mod:`iaptkit.measures.nhs_flags`) both add them with :func:`add_breakdown_attributes`.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions

__all__ = ["add_breakdown_attributes"]


def _imd_label(decile: ir.StringValue, labels: Mapping[str, str] | None) -> ir.StringValue:
    """The decile's published label (``imd_labels``), or the decile number itself."""
    if not labels:
        return decile
    return ibis.cases(
        *((decile == d, ibis.literal(label)) for d, label in labels.items()), else_=decile
    )


def add_breakdown_attributes(referrals: ir.Table, definitions: Definitions) -> ir.Table:
    """Add provider, commissioner, age_band, gender, ethnic_group, imd_decile (all text).

    Parameters
    ----------
    referrals
        A table with OrgID_Provider, OrgIDComm, Age_ReferralRequest_ReceivedDate, Gender,
        EthnicCategory and IndicesOfDeprivationDecile (e.g. ``Extract.referrals_as_at``).
    definitions
        Labels and bands (``breakdowns`` section of the definitions file).

    Returns
    -------
    ibis.Table
        ``referrals`` with the six breakdown columns; never null.

    Notes
    -----
    docs/measures.md §3: age bands on Age_ReferralRequest_ReceivedDate (Under 18, 18-25, 26-64,
    65-74, 75-89, 90+, Unknown); Male (1), Female (2), Other or not known; White (A-C), Mixed (D-G),
    Asian (H-L), Black (M-P), Other (R, S), Not stated; IMD decile 1-10 or Unknown. A missing
    provider or commissioner is ``Unknown`` **(choice)**.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"OrgID_Provider": ["R1A"], "OrgIDComm": [None],
    ...     "Age_ReferralRequest_ReceivedDate": [18], "Gender": ["2"], "EthnicCategory": ["H"],
    ...     "IndicesOfDeprivationDecile": [3]}).cast({"OrgIDComm": "string"})
    >>> out = add_breakdown_attributes(t, load_definitions())
    >>> ibis.duckdb.connect().execute(out.drop("OrgID_Provider", "OrgIDComm",
    ...     "Age_ReferralRequest_ReceivedDate", "Gender", "EthnicCategory",
    ...     "IndicesOfDeprivationDecile")).iloc[0].tolist()
    ['R1A', 'Unknown', '18-25', 'Female', 'Asian', '3']
    """
    b = definitions.breakdowns
    age = referrals.Age_ReferralRequest_ReceivedDate
    if b.age_at == "period-end" and "Age_RP_EndDate" in referrals.columns:
        # NHS publications band the age at the period end, where the extract has it
        age = referrals.Age_RP_EndDate.cast("int64").coalesce(age)
    age_branches = []
    for band in b.age_bands:
        cond = age >= band.minimum
        if band.maximum is not None:
            cond = cond & (age <= band.maximum)
        age_branches.append((cond, ibis.literal(band.label)))
    gender = strip_blanks(referrals.Gender).upper()
    ethnic = strip_blanks(referrals.EthnicCategory).upper()
    imd = referrals.IndicesOfDeprivationDecile
    unknown = ibis.literal(b.unknown)
    return referrals.mutate(
        # read trimmed, upper case and blank as null (data.schema.ORG_CODE_FIELDS)
        provider=referrals.OrgID_Provider.coalesce(unknown),
        commissioner=referrals.OrgIDComm.coalesce(unknown),
        age_band=ibis.cases(*age_branches, else_=ibis.literal(b.age_unknown)),
        gender=ibis.cases(
            *((gender == code, ibis.literal(label)) for code, label in b.gender.items()),
            else_=ibis.literal(b.gender_other),
        ),
        ethnic_group=ibis.cases(
            *((ethnic.isin(codes), ibis.literal(g)) for g, codes in b.ethnic_groups.items()),
            else_=ibis.literal(b.ethnic_other),
        ),
        imd_decile=ibis.ifelse(
            imd.between(b.imd_min, b.imd_max).coalesce(ibis.literal(False)),
            _imd_label(imd.cast("string"), b.imd_labels),
            ibis.literal(b.imd_unknown),
        ),
    )
