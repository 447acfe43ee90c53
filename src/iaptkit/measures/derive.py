"""The pathway table: one row per PathwayID as at a date (measures.md §1, §3).

:func:`pathway_table` composes the contact, score, problem-descriptor and outcome derivations
into one lazy ibis expression over an :class:`iaptkit.data.Extract`; the same expression runs on
DuckDB and PySpark. :func:`derive_pathways` executes it. :func:`derivation_exclusions` counts
every row the derivation does not use, by reason.

Scores in the pandas output are :class:`decimal.Decimal` objects with four decimal places
(``decimal(12,4)``; ``Decimal("10.0000") == Decimal("10")``), or ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data.text import strip_blanks
from iaptkit.measures.contacts import (
    ActivitySource,
    classified_contacts,
    classified_iet_logs,
    contact_summary,
)
from iaptkit.definitions.model import Definitions, load_definitions
from iaptkit.measures.outcomes import FLAG_COLUMNS, add_outcome_flags, usable_adsm_keys
from iaptkit.measures.problems import chosen_complaints
from iaptkit.measures.scores import SCORE_TYPE, classified_scores, score_summary

__all__ = [
    "BREAKDOWN_COLUMNS",
    "PATHWAY_COLUMNS",
    "add_breakdown_attributes",
    "derivation_exclusions",
    "derive_pathways",
    "pathway_table",
]

#: Breakdown name -> pathway-table column (INTERFACES.md); ``england`` is the constant England.
BREAKDOWN_COLUMNS = {
    "provider": "provider",
    "commissioner": "commissioner",
    "age_band": "age_band",
    "gender": "gender",
    "ethnic_group": "ethnic_group",
    "imd_decile": "imd_decile",
    "problem_descriptor": "ProblemDescriptor",
}

#: The columns of the pathway table, in order (INTERFACES.md "Pathway table").
PATHWAY_COLUMNS: tuple[str, ...] = (
    "PathwayID",
    "provider",
    "commissioner",
    "age_band",
    "gender",
    "ethnic_group",
    "imd_decile",
    "ProblemDescriptor",
    "ReferralRequestReceivedDate",
    "ServDischDate",
    "Assessment_FirstDate",
    "TherapySession_FirstDate",
    "TherapySession_SecondDate",
    "TherapySession_LastDate",
    "TreatmentCareContact_Count",
    "CompletedTreatment_Flag",
    "PHQ9_FirstScore",
    "PHQ9_LastScore",
    "GAD_FirstScore",
    "GAD_LastScore",
    "ADSM",
    "ADSM_FirstScore",
    "ADSM_LastScore",
    *FLAG_COLUMNS,
    "wait_to_first_treatment",
    "definitions_version",
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
    measures.md §3: age bands on Age_ReferralRequest_ReceivedDate (Under 18, 18-25, 26-64, 65-74,
    75-89, 90+, Unknown); Male (1), Female (2), Other or not known; White (A-C), Mixed (D-G),
    Asian (H-L), Black (M-P), Other (R, S), Not stated; IMD decile 1-10 or Unknown. A missing
    provider or commissioner is ``Unknown`` **(choice)**.

    Examples
    --------
    >>> from iaptkit.definitions.model import load_definitions
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
        provider=strip_blanks(referrals.OrgID_Provider).nullif("").coalesce(unknown),
        commissioner=strip_blanks(referrals.OrgIDComm).nullif("").coalesce(unknown),
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
            imd.cast("string"),
            ibis.literal(b.imd_unknown),
        ),
    )


#: Activity relations read by more than one derivation (contacts and the dating of IDS607
#: scores): computed once and cached on the backend (``Table.cache``, DuckDB and Spark), with
#: only the columns the derivations read (the cache is held for the whole derivation).
_SHARED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "IDS201CareContact": (
            "PathwayID",
            "CareContactId",
            "CareContDate",
            "AppType",
            "AttendOrDNACode",
            "PlannedCareContIndicator",
        ),
        "IDS202CareActivity": (
            "PathwayID",
            "CareContactId",
            "CareActId",
            "CodeProcAndProcStatus",
        ),
    }
)


#: The tables the contact-derived fields come from (sessions, assessments).
_CONTACT_TABLES = frozenset({"IDS201CareContact", "IDS202CareActivity", "IDS205InternetTherLog"})


class _SharedRelations:
    """An :class:`ActivitySource` that builds each relation once per derivation.

    The derivations ask for the same relation several times. Handing back the same expression
    lets ibis emit it once; the relations in :data:`_SHARED` are cached, since ibis fuses each
    consumer's projection into its own copy of the de-duplication window otherwise.
    """

    def __init__(self, extract: ActivitySource) -> None:
        self._extract = extract
        self._relations: dict[tuple[str, date], ir.Table] = {}
        self._cached: set[tuple[str, date]] = set()
        #: when set (before the first contact table is asked for), the tables of
        #: :data:`_CONTACT_TABLES` hold only these pathways' activity
        self.contact_pathways: ir.Table | None = None

    def release_shared(self) -> None:
        """Drop the cached relations of :data:`_SHARED` (once nothing lazy reads them)."""
        for key in [k for k in self._relations if k in self._cached]:
            self._relations.pop(key).release()
            self._cached.discard(key)

    def referrals_as_at(self, as_at: date, *, nhs_fields: bool = True) -> ir.Table:
        key = ("" if not nhs_fields else "+nhs", as_at)
        if key not in self._relations:
            self._relations[key] = self._extract.referrals_as_at(as_at, nhs_fields=nhs_fields)
        return self._relations[key]

    def activity_as_at(
        self, name: str, as_at: date, *, pathways: ir.Table | None = None
    ) -> ir.Table:
        if pathways is not None:
            return self._extract.activity_as_at(name, as_at, pathways=pathways)
        key = (name, as_at)
        if key not in self._relations:
            if name in _CONTACT_TABLES and self.contact_pathways is not None:
                relation = self._extract.activity_as_at(name, as_at, pathways=self.contact_pathways)
            else:
                relation = self._extract.activity_as_at(name, as_at)
            if name in _SHARED:
                relation = relation.select(*_SHARED[name]).cache()
                self._cached.add(key)
            self._relations[key] = relation
        return self._relations[key]


def _measure_scores(summary: ir.Table, key: str, prefix: str) -> ir.Table:
    s = summary.filter(summary.measure == key)
    return s.select(
        **{
            f"_{prefix}P": s.PathwayID,
            f"{prefix}_FirstScore": s.first_score,
            f"{prefix}_LastScore": s.last_score,
        }
    )


def pathway_table(
    extract: ActivitySource,
    as_at: date,
    definitions: Definitions,
    *,
    outcomes_finished_in: tuple[date, date] | None = None,
) -> ir.Table:
    """The lazy pathway table as at ``as_at``: one row per PathwayID.

    Parameters
    ----------
    extract
        An opened :class:`iaptkit.data.Extract` (anything with ``referrals_as_at`` and
        ``activity_as_at``).
    as_at
        The date E: pathway state and activity as at E.
    definitions
        Measure definitions (every number, code list and choice).
    outcomes_finished_in
        A period ``(start, end)`` for published measures: scores and outcome flags only for
        the pathways that finished treatment in it (ServDischDate in the period and
        CompletedTreatment_Flag), null scores and false flags for the others; contacts only
        for the pathways not discharged before ``start`` (the others have no contact fields).
        Every published measure of the period is the same (they count outcome flags of
        finished pathways only, and contact dates in the period only), for much less work on
        long extracts. The contact and score parts are then each computed and cached by their
        own engine pass (less memory at once). The default (``None``) derives every field of
        every pathway, lazily.

    Returns
    -------
    ibis.Table
        Columns :data:`PATHWAY_COLUMNS` (INTERFACES.md "Pathway table"); scores
        decimal(12,4), flags boolean, counts and waits int64.

    Notes
    -----
    Implements measures.md §1 (contacts, fields, scores, anxiety measure, outcome flags, waits)
    and §3 attributes, over the data-model.md "which rows count" rules implemented by the
    extract. Fully deterministic: the same result on DuckDB and PySpark.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS101Referral": pd.DataFrame({"UniqueSubmissionID": [1],
    ...     "Unique_MonthID": [1492], "OrgID_Provider": ["R1A"], "PathwayID": ["P1"],
    ...     "ServiceRequestId": ["S1"], "RecordNumber": [1], "OrgIDComm": ["C1"],
    ...     "ReferralRequestReceivedDate": ["2024-07-01"], "SourceOfReferralMH": ["A1"],
    ...     "ServDischDate": [None], "EndCode": [None], "Age_ReferralRequest_ReceivedDate": [30]})})
    >>> t = pathway_table(ex, date(2024, 7, 31), load_definitions())
    >>> row = t.execute().iloc[0]
    >>> row.PathwayID, row.ProblemDescriptor, int(row.TreatmentCareContact_Count)
    ('P1', 'Unspecified', 0)
    """
    defs = definitions
    extract = _SharedRelations(extract)
    # the derivation reads no NHS-derived field: without them (a narrower de-duplication)
    refs = add_breakdown_attributes(extract.referrals_as_at(as_at, nhs_fields=False), defs)
    refs = refs.select(
        "PathwayID",
        "provider",
        "commissioner",
        "age_band",
        "gender",
        "ethnic_group",
        "imd_decile",
        "ReferralRequestReceivedDate",
        "ServDischDate",
    )
    staged = outcomes_finished_in is not None
    if staged:
        # read by every part of the derivation (window bounds, restrictions, the result):
        # computed once (the as-at window over IDS101 and IDS001) and cached on the backend
        refs = refs.cache()
    if outcomes_finished_in is not None:
        # a pathway discharged before the period has no contact-derived date in it and is not
        # finished in it: its sessions and assessments change no published measure
        early = refs.ServDischDate < outcomes_finished_in[0]
        extract.contact_pathways = refs.filter(~early.fill_null(False)).select("PathwayID")
    contacts = contact_summary(extract, refs, as_at, defs).rename(_cP="PathwayID")
    problems = chosen_complaints(extract, as_at, defs).rename(_pP="PathwayID")
    problems = problems.drop("PresComp")
    if staged:
        # one engine pass per part, each with the memory budget (long extracts)
        contacts = contacts.cache()
    scored = None
    if outcomes_finished_in is not None:
        # the finished cohort of measures.md §2: discharged in the period, enough sessions
        start, end = outcomes_finished_in
        ended = refs.filter(refs.ServDischDate.between(start, end))
        treated = contacts.filter(
            contacts.TreatmentCareContact_Count >= defs.contacts.min_treatment_sessions
        )
        # with their window bounds: the scores are checked against these pathways' bounds
        # only (a cached table, so the engine cannot re-apply the restriction to every score)
        scored = ended.semi_join(treated, ended.PathwayID == treated._cP).select(
            "PathwayID", "ReferralRequestReceivedDate", "ServDischDate"
        )
        scored = scored.cache()
    bounds = refs if scored is None else scored
    summary = score_summary(extract, bounds, as_at, defs, scored)
    if staged:
        summary = summary.cache()
        extract.release_shared()
    phq = _measure_scores(summary, defs.depression.key, "PHQ9")
    gad = _measure_scores(summary, defs.default_anxiety.key, "GAD")
    adsm = summary.select(
        _aP=summary.PathwayID,
        _aM=summary.measure,
        ADSM_FirstScore=summary.first_score,
        ADSM_LastScore=summary.last_score,
    )
    t = refs.left_join(contacts, refs.PathwayID == contacts._cP)
    t = t.left_join(problems, t.PathwayID == problems._pP)
    t = t.left_join(phq, t.PathwayID == phq._PHQ9P)
    t = t.left_join(gad, t.PathwayID == gad._GADP)
    t = t.left_join(adsm, (t.PathwayID == adsm._aP) & (adsm._aM == t.ADSM))
    count = t.TreatmentCareContact_Count.coalesce(0).cast("int64")
    t = t.mutate(
        ProblemDescriptor=t.ProblemDescriptor.coalesce(ibis.literal(defs.problems.unspecified)),
        TreatmentCareContact_Count=count,
        CompletedTreatment_Flag=(
            t.ServDischDate.notnull() & (count >= defs.contacts.min_treatment_sessions)
        ),
        wait_to_first_treatment=t.TherapySession_FirstDate.delta(
            t.ReferralRequestReceivedDate, unit="day"
        ).cast("int64"),
        definitions_version=ibis.literal(defs.version),
    )
    for col in (
        "PHQ9_FirstScore",
        "PHQ9_LastScore",
        "GAD_FirstScore",
        "GAD_LastScore",
        "ADSM_FirstScore",
        "ADSM_LastScore",
    ):
        t = t.mutate(**{col: t[col].cast(SCORE_TYPE)})
    t = add_outcome_flags(t, defs)
    return t.select(*PATHWAY_COLUMNS)


def derive_pathways(
    extract: ActivitySource, as_at: date, definitions: Definitions | None = None
) -> pd.DataFrame:
    """Execute :func:`pathway_table` and return it sorted by PathwayID.

    Scores are :class:`decimal.Decimal` (four decimal places) or ``None``; dates are
    :class:`datetime.date` or ``None``; ``TreatmentCareContact_Count`` is int64 and
    ``wait_to_first_treatment`` nullable ``Int64``; flags are bool.

    Notes
    -----
    measures.md §1 and §3; see :func:`pathway_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS101Referral": pd.DataFrame({"UniqueSubmissionID": [1],
    ...     "Unique_MonthID": [1492], "OrgID_Provider": ["R1A"], "PathwayID": ["P1"],
    ...     "ServiceRequestId": ["S1"], "RecordNumber": [1], "OrgIDComm": ["C1"],
    ...     "ReferralRequestReceivedDate": ["2024-07-01"], "SourceOfReferralMH": ["A1"],
    ...     "ServDischDate": [None], "EndCode": [None], "Age_ReferralRequest_ReceivedDate": [30]})})
    >>> derive_pathways(ex, date(2024, 7, 31)).loc[0, ["PathwayID", "age_band"]].tolist()
    ['P1', '26-64']
    """
    defs = definitions if definitions is not None else load_definitions()
    frame = pathway_table(extract, as_at, defs).execute()
    frame = frame.sort_values("PathwayID", kind="stable").reset_index(drop=True)
    return _to_python_types(frame)


def _to_python_types(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("TreatmentCareContact_Count",):
        out[col] = out[col].astype("int64")
    out["wait_to_first_treatment"] = out["wait_to_first_treatment"].astype("Int64")
    for col in (*FLAG_COLUMNS, "CompletedTreatment_Flag"):
        out[col] = out[col].astype(bool)
    date_cols = [c for c in PATHWAY_COLUMNS if c.endswith("Date")]
    for col in date_cols:
        out[col] = pd.Series(
            [None if pd.isna(v) else pd.Timestamp(v).date() for v in out[col]],
            index=out.index,
            dtype=object,
        )
    score_cols = [c for c in PATHWAY_COLUMNS if c.endswith("Score")]
    for col in score_cols:
        out[col] = pd.Series(
            [v if isinstance(v, Decimal) else None for v in out[col]], index=out.index, dtype=object
        )
    for col in ("ADSM",):
        out[col] = pd.Series(
            [None if pd.isna(v) else v for v in out[col]], index=out.index, dtype=object
        )
    return out


def derivation_exclusions(
    extract: ActivitySource, as_at: date, definitions: Definitions | None = None
) -> pd.DataFrame:
    """Rows the derivation does not use, and pathways that fall back, counted by reason.

    Returns
    -------
    pandas.DataFrame
        Columns ``table``, ``reason``, ``rows`` (only reasons with rows > 0), sorted, and
        ``definitions_version``. Counted: contacts that are neither treatment sessions nor
        assessments (:data:`~iaptkit.measures.contacts.CONTACT_REASONS`; such a contact may
        still date an IDS607 score), IET logs (:data:`~iaptkit.measures.contacts.IET_REASONS`),
        score rows that are not scores (:data:`~iaptkit.measures.scores.SCORE_REASONS`), valid
        scores not counted by the one-per-day rule (``score_same_day_not_counted``, under their
        own table), and pathways whose ADSM has unpublished thresholds
        (``adsm_thresholds_unpublished``, table ``pathways``).

    Notes
    -----
    measures.md §1 Scores and §4: rows outside the range or unparseable are counted in the
    data-quality report, never silently lost; ADSMs without published thresholds fall back to
    GAD-7 and such pathways are counted.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.data import load_extract
    >>> ex = load_extract({"IDS101Referral": pd.DataFrame({"UniqueSubmissionID": [1],
    ...     "Unique_MonthID": [1492], "OrgID_Provider": ["R1A"], "PathwayID": ["P1"],
    ...     "ServiceRequestId": ["S1"], "RecordNumber": [1], "OrgIDComm": ["C1"],
    ...     "ReferralRequestReceivedDate": ["2024-07-01"], "SourceOfReferralMH": ["A1"],
    ...     "ServDischDate": [None], "EndCode": [None], "Age_ReferralRequest_ReceivedDate": [30]})})
    >>> len(derivation_exclusions(ex, date(2024, 7, 31)))
    0
    """
    defs = definitions if definitions is not None else load_definitions()
    refs = extract.referrals_as_at(as_at, nhs_fields=False)
    parts: list[ir.Table] = []
    c = classified_contacts(extract, refs, as_at, defs)
    parts.append(c.select(table=ibis.literal("IDS201CareContact"), reason=c.reason))
    logs = classified_iet_logs(extract, refs, as_at, defs)
    parts.append(logs.select(table=ibis.literal("IDS205InternetTherLog"), reason=logs.reason))
    s = classified_scores(extract, refs, as_at, defs)
    # a valid score that is not the one counted for its day (one score per measure per day)
    day_rank = ibis.row_number().over(
        group_by=[s.PathwayID, s.measure, s.score_date], order_by=ibis.desc(s.score)
    )
    s = s.mutate(
        reason=ibis.ifelse(
            s.reason.isnull() & (day_rank > 0),
            ibis.literal("score_same_day_not_counted"),
            s.reason,
        )
    )
    parts.append(s.select(table=s.source_table, reason=s.reason))
    unusable = tuple(k for k in defs.adsm_keys if k not in usable_adsm_keys(defs))
    if unusable:
        problems = chosen_complaints(extract, as_at, defs)
        fallback = problems.filter(problems.ADSM.isin(unusable))
        fallback = fallback.semi_join(refs, fallback.PathwayID == refs.PathwayID)
        parts.append(
            fallback.select(
                table=ibis.literal("pathways"), reason=ibis.literal("adsm_thresholds_unpublished")
            )
        )
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part, distinct=False)
    union = union.filter(union.reason.notnull())
    counts = union.group_by(["table", "reason"]).aggregate(rows=union.count()).execute()
    out = pd.DataFrame(
        {
            "table": counts["table"].astype(object),
            "reason": counts["reason"].astype(object),
            "rows": counts["rows"],
        }
    )
    out["rows"] = out["rows"].astype("int64")
    out = out.sort_values(["table", "reason"], kind="stable").reset_index(drop=True)
    out["definitions_version"] = defs.version
    result: pd.DataFrame = out
    return result
