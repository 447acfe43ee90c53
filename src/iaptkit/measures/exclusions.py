"""Rows not used: what the derivation leaves out, and the loader's exclusions, by reason.

docs/measures.md §4: no row is silently lost. :func:`derivation_exclusions` counts the
activity and score rows the pathway derivation does not use (and the pathways that fall back
from an ADSM to GAD-7); :func:`excluded_rows` adds the extract's own exclusions (superseded
submissions, earlier states) and counts a large extract in pathway parts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data import Extract
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.measures.contacts import classified_contacts, classified_iet_logs
from iaptkit.measures.outcomes import usable_adsm_keys
from iaptkit.measures.partitions import PathwayPart
from iaptkit.measures.problems import chosen_complaints
from iaptkit.measures.scores import classified_scores
from iaptkit.measures.sources import PathwaySource, SharedActivity, split_source

__all__ = ["derivation_exclusions", "excluded_rows"]


def derivation_exclusions(
    source: PathwaySource, as_at: date, definitions: Definitions | None = None
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
    docs/measures.md §1 Scores and §4: rows outside the range or unparseable are counted in the
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
    extract, where = split_source(source)
    refs = extract.referrals_as_at(as_at, nhs_fields=False, where=where)
    activity = SharedActivity(source, shared=False)
    parts: list[ir.Table] = []
    c = classified_contacts(activity, refs, as_at, defs)
    parts.append(c.select(table=ibis.literal("IDS201CareContact"), reason=c.reason))
    logs = classified_iet_logs(activity, refs, as_at, defs)
    parts.append(logs.select(table=ibis.literal("IDS205InternetTherLog"), reason=logs.reason))
    s = classified_scores(activity, refs, as_at, defs)
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
        problems = chosen_complaints(activity, as_at, defs)
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


def excluded_rows(
    extract: Extract,
    as_at: date,
    definitions: Definitions,
    parts: int = 1,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every row not used as at ``as_at``: the extract's exclusions and the derivation's.

    Parameters
    ----------
    extract
        The loaded extract.
    as_at
        The date E of the derivation.
    definitions
        Measure definitions.
    parts
        Count the derivation's exclusions in this many pathway parts
        (:class:`~iaptkit.measures.partitions.PathwayPart`), one after another: every row is
        in exactly one part, so the counts add up to those of one pass.
    progress
        Called with a short message before each count.

    Returns
    -------
    pandas.DataFrame
        ``Extract.exclusions`` (superseded submissions, earlier states) then
        :func:`derivation_exclusions`; columns ``table``, ``reason``, ``rows`` (and
        ``definitions_version`` where known). Empty (those three columns) when nothing is
        excluded.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> rows = excluded_rows(example_extract(), date(2024, 6, 30), load_definitions())
    >>> list(rows.columns[:3])
    ['table', 'reason', 'rows']
    """
    if progress:
        progress("Counting rows not used: superseded submissions and earlier states")
    loaded = extract.exclusions(as_at)
    if parts == 1:
        if progress:
            progress("Counting rows not used by the derivation")
        derived = derivation_exclusions(extract, as_at, definitions)
    else:
        each = []
        for k in range(parts):
            if progress:
                progress(f"Counting rows not used by the derivation: part {k + 1} of {parts}")
            each.append(derivation_exclusions(PathwayPart(extract, k, parts), as_at, definitions))
        joined = pd.concat(each, ignore_index=True)
        summed = joined.groupby(["table", "reason"], sort=True)["rows"].sum()
        derived = summed.reset_index().assign(definitions_version=definitions.version)
    frames = [f for f in (loaded, derived) if len(f)]
    if not frames:
        return pd.DataFrame({"table": [], "reason": [], "rows": []})
    return pd.concat(frames, ignore_index=True)
