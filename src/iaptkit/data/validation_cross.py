"""Validation rules across tables: duplicate keys, orphans, and the submissions not used.

Rows of a child table whose PathwayID has no referral, referrals whose RecordNumber has no
person, rows repeating a key, and rows of superseded or unknown submissions
(``docs/data-model.md``, "Monthly resubmission").
"""

from __future__ import annotations

from iaptkit.data.exclusion_rows import exclusion_columns, exclusion_counts
from iaptkit.data.schema import TABLES
from iaptkit.data.sources import TableAccess
from iaptkit.data.submissions import counted_rows
from iaptkit.data.validation_report import ProblemCollector, rows_text

__all__ = ["cross_rules"]

_CHILD_TABLES = (
    "IDS201CareContact",
    "IDS202CareActivity",
    "IDS205InternetTherLog",
    "IDS603PresentingComplaints",
    "IDS606CodedScoreAssessmentRefer",
    "IDS607CodedScoreAssessmentAct",
)


def cross_rules(extract: TableAccess, out: ProblemCollector) -> None:
    """Run the rules that join tables (orphans, duplicate keys, submissions), adding to ``out``.

    Parameters
    ----------
    extract
        The opened extract; tables missing a required column are skipped (reported already).
    out
        Where problems are recorded.
    """
    usable = [
        n
        for n in extract.table_names()
        if all(f in extract.tables[n].columns for f in TABLES[n].required_fields)
    ]
    for name in usable:
        spec = TABLES[name]
        keys = list(spec.key)
        t = extract.table(name, columns=keys)
        groups = t.group_by(keys).aggregate(_n=t.count())
        dupes = groups.filter(groups._n > 1)
        extra = int((dupes._n - 1).sum().fill_null(0).execute())
        out.add(
            "duplicate_key",
            name,
            keys[-1],
            extra,
            f"{rows_text(extra)} of {name} repeat the key ({', '.join(keys)}) of another row "
            "in the same submission; only one of them is used.",
            dupes,
            keys[:3],
        )
    if "IDS101Referral" in usable:
        counted = counted_rows(
            extract.table(
                "IDS101Referral", columns=("UniqueSubmissionID", "PathwayID", "UsePathway_Flag")
            ),
            TABLES["IDS101Referral"],
            extract.submissions(),
        )
        pathways = (
            counted.filter(counted.PathwayID.notnull())
            .select(_iapt_pid=counted.PathwayID)
            .distinct()
            .cache()
        )
        for name in _CHILD_TABLES:
            if name not in usable:
                continue
            t = extract.table(name, columns=("PathwayID", "UniqueSubmissionID"))
            orphans = t.filter(t.PathwayID.notnull()).anti_join(
                pathways, t.PathwayID == pathways._iapt_pid
            )
            rows = int(orphans.count().execute())
            out.add(
                "orphan_pathway",
                name,
                "PathwayID",
                rows,
                f"{rows_text(rows)} of {name} have a PathwayID with no referral (IDS101) in any "
                "counted submission; they cannot be attributed to a pathway.",
                orphans,
                ["PathwayID", "UniqueSubmissionID"],
            )
        if "IDS201CareContact" in usable:
            _contacts_before_referral(extract, out)
    if "IDS201CareContact" in usable:
        _contacts_after_their_month(extract, out)
        if "IDS001MPI" in usable:
            r = extract.table(
                "IDS101Referral", columns=("PathwayID", "UniqueSubmissionID", "RecordNumber")
            )
            p = extract.table("IDS001MPI", columns=("UniqueSubmissionID", "RecordNumber"))
            people = p.select(_iapt_sid=p.UniqueSubmissionID, _iapt_rec=p.RecordNumber).distinct()
            lost = r.anti_join(
                people,
                [r.UniqueSubmissionID == people._iapt_sid, r.RecordNumber == people._iapt_rec],
            )
            rows = int(lost.count().execute())
            out.add(
                "orphan_record",
                "IDS101Referral",
                "RecordNumber",
                rows,
                f"{rows_text(rows)} of IDS101Referral have a RecordNumber with no IDS001MPI row in "
                "the same submission; their demographics are unknown.",
                lost,
                ["PathwayID", "UniqueSubmissionID", "RecordNumber"],
            )
    if "IDS101Referral" in usable or "IDS000Header" in usable:
        typed = {n: extract.table(n, columns=exclusion_columns(n)) for n in usable}
        excl = exclusion_counts(typed, extract.submissions(), None)
        notes = {
            "superseded_submission": "rows belong to a submission superseded by a later one "
            "for the same provider and month; they are ignored.",
            "pathway_flag_false": "rows have UsePathway_Flag false; they are ignored.",
            "unknown_submission": "rows carry a UniqueSubmissionID that is in neither IDS000 "
            "nor IDS101; they are ignored.",
        }
        for table, reason, n in excl[["table", "reason", "rows"]].itertuples(index=False):
            if str(reason) in notes:
                rows = int(str(n))
                out.add(
                    str(reason),
                    str(table),
                    "UniqueSubmissionID",
                    rows,
                    f"{rows_text(rows)} of {table}: {notes[str(reason)]}",
                )


def _contacts_after_their_month(extract: TableAccess, out: ProblemCollector) -> None:
    """IDS201 rows dated after the month of the submission that reports them (a future date).

    A submission for a month reports what happened up to the month's end; a contact dated
    later (``2099-04-12`` for ``2023-04``) is a date error. No pathway as at a date before the
    contact reads it (the row ledger's ``contact_after_as_at``).
    """
    c = extract.table(
        "IDS201CareContact",
        columns=("UniqueSubmissionID", "Unique_MonthID", "PathwayID", "CareContactId",
                 "CareContDate"),
    )  # fmt: skip
    day = c.CareContDate
    month = (day.year() - 1900) * 12 + day.month() - 3  # Unique_MonthID of the date's month
    late = c.filter((month > c.Unique_MonthID).fill_null(False))
    rows = int(late.count().execute())
    out.add(
        "contact_after_submission_month",
        "IDS201CareContact",
        "CareContDate",
        rows,
        f"{rows_text(rows)} of IDS201CareContact.CareContDate are after the month their "
        "submission reports (Unique_MonthID); expected a date in or before that month. A "
        "pathway as at an earlier date does not read them. File: "
        f"{extract.tables['IDS201CareContact'].location}.",
        late.select("PathwayID", "CareContactId", value=late.CareContDate.cast("string")),
        ["PathwayID", "CareContactId", "value"],
    )


def _contacts_before_referral(extract: TableAccess, out: ProblemCollector) -> None:
    """IDS201 rows dated before the ReferralRequestReceivedDate of their pathway's referral.

    The referral's date is that of its latest counted state (the latest Unique_MonthID), the
    state the derivation reads at any later date (docs/data-model.md rule 3).
    """
    refs = counted_rows(
        extract.table(
            "IDS101Referral",
            columns=(
                "UniqueSubmissionID",
                "Unique_MonthID",
                "PathwayID",
                "UsePathway_Flag",
                "ReferralRequestReceivedDate",
            ),
        ),
        TABLES["IDS101Referral"],
        extract.submissions(),
    )
    refs = refs.filter(refs.PathwayID.notnull())
    latest = refs.group_by("PathwayID").aggregate(
        _iapt_r=refs.ReferralRequestReceivedDate.argmax(refs.Unique_MonthID)
    )
    c = extract.table(
        "IDS201CareContact",
        columns=("UniqueSubmissionID", "PathwayID", "CareContactId", "CareContDate"),
    )
    j = c.inner_join(latest, c.PathwayID == latest.PathwayID)
    early = j.filter((j.CareContDate < j._iapt_r).fill_null(False))
    rows = int(early.count().execute())
    out.add(
        "contact_before_referral",
        "IDS201CareContact",
        "CareContDate",
        rows,
        f"{rows_text(rows)} of IDS201CareContact.CareContDate are not on or after their "
        "referral's ReferralRequestReceivedDate (IDS101, latest state); they fall outside the "
        "referral's window and are not used. File: "
        f"{extract.tables['IDS201CareContact'].location}.",
        early.select("PathwayID", "CareContactId", value=early.CareContDate.cast("string")),
        ["PathwayID", "CareContactId", "value"],
    )
