"""The pathway table: one row per PathwayID as at a date (docs/measures.md §1, §3).

:func:`pathway_table` composes the contact, score, problem-descriptor and outcome derivations
into one lazy ibis expression over an :class:`iaptkit.data.Extract` (or some of its pathways,
:data:`~iaptkit.measures.sources.PathwaySource`); the same expression runs on DuckDB and
PySpark. :func:`derive_pathways` executes it. The columns and their types are those of
:mod:`iaptkit.measures.pathway_schema`; the rows the derivation does not use are counted, by
reason, by the row ledger (:func:`iaptkit.data.ledger.extract_ledger`, docs/ledger.md).

Scores in the pandas output are numeric nullable (``Float64``, ``<NA>`` when missing): the engine's
exact ``decimal(12,4)`` values, which a float holds exactly to four decimal places, so they
aggregate and plot directly; the parquet file keeps ``decimal(12,4)``
(:mod:`iaptkit.measures.pathway_files`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from iaptkit.data.staging import materialise
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.measures.breakdown_attributes import add_breakdown_attributes
from iaptkit.measures.contacts import contact_summary
from iaptkit.measures.outcomes import add_outcome_flags
from iaptkit.measures.pathway_schema import (
    BREAKDOWN_ATTRIBUTES,
    DATE_COLUMNS,
    FLAG_COLUMNS,
    PATHWAY_COLUMNS,
    SCORE_COLUMNS,
    SCORE_TYPE,
)
from iaptkit.measures.problems import chosen_complaints
from iaptkit.measures.scores import score_summary
from iaptkit.measures.sources import PathwaySource, SharedActivity, split_source

__all__ = ["derive_pathways", "derive_pathways_arrow", "pathway_table"]


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
    source: PathwaySource,
    as_at: date,
    definitions: Definitions,
    *,
    outcomes_finished_in: tuple[date, date] | None = None,
) -> ir.Table:
    """The lazy pathway table as at ``as_at``: one row per PathwayID.

    Parameters
    ----------
    source
        An opened :class:`iaptkit.data.Extract`, or a subset of its pathways (e.g. a
        :class:`~iaptkit.measures.partitions.PathwayPart`).
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
        Columns :data:`~iaptkit.measures.pathway_schema.PATHWAY_COLUMNS` (docs/module-contracts.md
        "Pathway table"); scores
        decimal(12,4), flags boolean, counts and waits int64.

    Notes
    -----
    Implements docs/measures.md §1 (contacts, fields, scores, anxiety measure, outcome flags, waits)
    and §3 attributes, over the docs/data-model.md "which rows count" rules implemented by the
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
    extract, where = split_source(source)
    activity = SharedActivity(source)
    # the derivation reads no NHS-derived field: without them (a narrower de-duplication)
    referrals = extract.referrals_as_at(as_at, nhs_fields=False, where=where)
    refs = add_breakdown_attributes(referrals, defs).select(
        "PathwayID", *BREAKDOWN_ATTRIBUTES, "ReferralRequestReceivedDate", "ServDischDate"
    )
    staged = outcomes_finished_in is not None
    # read by every part of the derivation (window bounds, restrictions, the result): computed
    # once (the as-at window over IDS101 and IDS001) and cached on the backend when staged; else
    # a stage boundary: materialised on Spark (small plans), lazy on DuckDB (data.staging)
    refs = refs.cache() if staged else materialise(refs, "referrals as at")
    if outcomes_finished_in is not None:
        # a pathway discharged before the period has no contact-derived date in it and is not
        # finished in it: its sessions and assessments change no published measure
        early = refs.ServDischDate < outcomes_finished_in[0]
        activity.contact_pathways = refs.filter(~early.fill_null(False)).select("PathwayID")
    contacts = contact_summary(activity, refs, as_at, defs).rename(_cP="PathwayID")
    problems = chosen_complaints(activity, as_at, defs).rename(_pP="PathwayID")
    problems = problems.drop("PresComp")
    if staged:
        # one engine pass per part, each with the memory budget (long extracts)
        contacts = contacts.cache()
    else:
        contacts = materialise(contacts, "contact summary")
        problems = materialise(problems, "problem descriptors")
    scored = None
    if outcomes_finished_in is not None:
        # the finished cohort of docs/measures.md §2: discharged in the period, enough sessions
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
    summary = score_summary(activity, bounds, as_at, defs, scored)
    if staged:
        summary = summary.cache()
        activity.release_shared()
    else:
        summary = materialise(summary, "score summary")
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
    for col in SCORE_COLUMNS:
        t = t.mutate(**{col: t[col].cast(SCORE_TYPE)})
    t = add_outcome_flags(t, defs)
    return t.select(*PATHWAY_COLUMNS)


def derive_pathways(
    source: PathwaySource, as_at: date, definitions: Definitions | None = None
) -> pd.DataFrame:
    """Execute :func:`pathway_table` and return it sorted by PathwayID.

    Scores are ``Float64`` (nullable; four decimal places as computed); dates are
    :class:`datetime.date` or ``None``; ``TreatmentCareContact_Count`` is int64 and
    ``wait_to_first_treatment`` nullable ``Int64``; flags are bool.

    Notes
    -----
    docs/measures.md §1 and §3; see :func:`pathway_table`.

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
    frame = pathway_table(source, as_at, defs).execute()
    frame = frame.sort_values("PathwayID", kind="stable").reset_index(drop=True)
    return _to_python_types(frame)


def derive_pathways_arrow(
    source: PathwaySource, as_at: date, definitions: Definitions | None = None
) -> pa.Table:
    """:func:`derive_pathways` as an Arrow table, sorted by PathwayID, typed as in the file.

    The same rows and values as :func:`derive_pathways`, without the round trip through
    pandas and Python objects (scores stay ``decimal(12,4)``, dates ``date32``): what
    ``iaptkit derive`` writes to parquet. Flags are false where the engine gives null, as in
    :func:`derive_pathways`.

    Parameters
    ----------
    source, as_at, definitions
        As for :func:`derive_pathways`.

    Returns
    -------
    pyarrow.Table
        Columns :data:`~iaptkit.measures.pathway_schema.PATHWAY_COLUMNS` in order, with the
        types of :data:`~iaptkit.measures.pathway_schema.PATHWAY_TYPES`.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> t = derive_pathways_arrow(example_extract(), date(2024, 6, 30))
    >>> t.column("PathwayID").to_pylist() == sorted(t.column("PathwayID").to_pylist())
    True
    """
    defs = definitions if definitions is not None else load_definitions()
    t = pathway_table(source, as_at, defs)
    # flags are false where null, as derive_pathways's astype(bool) makes them
    flags = (*FLAG_COLUMNS, "CompletedTreatment_Flag")
    t = t.mutate(**{c: t[c].fill_null(False) for c in flags}).order_by("PathwayID")
    table: pa.Table = t.to_pyarrow()
    return table.select(list(PATHWAY_COLUMNS))


def _to_python_types(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("TreatmentCareContact_Count",):
        out[col] = out[col].astype("int64")
    out["wait_to_first_treatment"] = out["wait_to_first_treatment"].astype("Int64")
    for col in (*FLAG_COLUMNS, "CompletedTreatment_Flag"):
        out[col] = out[col].astype(bool)
    for col in DATE_COLUMNS:
        out[col] = pd.Series(
            [None if pd.isna(v) else pd.Timestamp(v).date() for v in out[col]],
            index=out.index,
            dtype=object,
        )
    for col in SCORE_COLUMNS:
        # numeric nullable: the engine's decimal(12,4) values are exact in four decimal places
        out[col] = pd.Series(
            [float(v) if isinstance(v, Decimal) else None for v in out[col]],
            index=out.index,
            dtype="Float64",
        )
    for col in ("ADSM",):
        out[col] = pd.Series(
            [None if pd.isna(v) else v for v in out[col]], index=out.index, dtype=object
        )
    return out
