"""A straightforward pandas implementation of the pathway derivation (benchmark reference).

This is what an analyst would write by hand with pandas: read the parquet files of an extract
folder into memory, apply the resubmission rules (docs/data-model.md), derive one row per pathway as
at a date (docs/measures.md §1) and count the England published measures (§2). It is written
independently of iaptkit's ibis code (only the definitions' numbers and code lists are shared)
and serves two purposes in ``benchmarks/measures.py``: a speed/memory baseline, and a cross-check
that both implementations give the same England counts.

Scores are compared exactly: they are parsed as plain decimals and held as integers in units
of 1/10,000 (the four decimal places of iaptkit's decimal(12,4)), so 2.30 -> 1.57 is a change of
7,300 units and meets a reliable-change value of 0.73.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from iaptkit.data.schema import TABLES, month_id
from iaptkit.definitions import Definitions, ScoreMeasure

SCALE = 10_000
SCORE_RE = r"^[+-]?(?:[0-9]{1,8}(?:\.[0-9]{0,4})?|\.[0-9]{1,4})$"


def _read(folder: Path, table: str, columns: list[str]) -> pd.DataFrame | None:
    path = folder / f"{table}.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path, columns=columns)
    for col in columns:
        if col.endswith("Date") or col in ("CareContDate", "StartDateIntEnabledTherLog"):
            frame[col] = pd.to_datetime(frame[col], errors="coerce")
    return frame


def _counted_ids(folder: Path) -> pd.Index:
    """UniqueSubmissionIDs that count: the latest per (provider, month)."""
    parts = []
    header = _read(folder, "IDS000Header", ["UniqueSubmissionID", "OrgIDProv", "Unique_MonthID"])
    if header is not None:
        parts.append(header.rename(columns={"OrgIDProv": "OrgID_Provider"}))
    ref = pd.read_parquet(
        folder / "IDS101Referral.parquet",
        columns=["UniqueSubmissionID", "OrgID_Provider", "Unique_MonthID"],
    ).drop_duplicates()
    parts.append(ref)
    subs = pd.concat(parts, ignore_index=True)
    latest = subs.groupby(["OrgID_Provider", "Unique_MonthID"])["UniqueSubmissionID"].max()
    return pd.Index(latest.to_numpy())


def _activity(
    folder: Path, table: str, columns: list[str], counted: pd.Index, max_month: int
) -> pd.DataFrame | None:
    spec = TABLES[table]
    assert spec.activity_key is not None
    wanted = list(
        dict.fromkeys(["UniqueSubmissionID", "Unique_MonthID", *spec.activity_key, *columns])
    )
    frame = _read(folder, table, wanted)
    if frame is None:
        return None
    frame = frame[frame.UniqueSubmissionID.isin(counted) & (frame.Unique_MonthID <= max_month)]
    frame = frame.sort_values(["Unique_MonthID", "UniqueSubmissionID"])
    return frame.drop_duplicates(list(spec.activity_key), keep="last")


def _referrals(folder: Path, as_at: date, counted: pd.Index) -> pd.DataFrame:
    cols = [
        "UniqueSubmissionID",
        "Unique_MonthID",
        "OrgID_Provider",
        "PathwayID",
        "ServiceRequestId",
        "ReferralRequestReceivedDate",
        "ServDischDate",
    ]
    ref = pd.read_parquet(folder / "IDS101Referral.parquet")
    has_flag = "UsePathway_Flag" in ref.columns
    flag = ref["UsePathway_Flag"] if has_flag else None
    ref = ref[cols].copy()
    keep = ref.UniqueSubmissionID.isin(counted) & (ref.Unique_MonthID <= month_id(as_at))
    if flag is not None:
        text = flag.astype("string").str.strip().str.lower()
        keep &= ~text.isin(["false", "0", "n", "no", "f"]).fillna(False)
    ref = ref[keep]
    ref = ref.sort_values(
        ["PathwayID", "Unique_MonthID", "UniqueSubmissionID", "ServiceRequestId"],
        ascending=[True, False, False, True],
    ).drop_duplicates("PathwayID", keep="first")
    for c in ("ReferralRequestReceivedDate", "ServDischDate"):
        ref[c] = pd.to_datetime(ref[c], errors="coerce")
    ref.loc[ref.ServDischDate > pd.Timestamp(as_at), "ServDischDate"] = pd.NaT
    return ref.set_index("PathwayID")[["ReferralRequestReceivedDate", "ServDischDate"]]


def _window(frame: pd.DataFrame, date_col: str, ref: pd.DataFrame, as_at: date) -> pd.DataFrame:
    frame = frame.join(ref, on="PathwayID", how="inner")
    end = frame.ServDischDate.fillna(pd.Timestamp(as_at)).clip(upper=pd.Timestamp(as_at))
    ok = (frame[date_col] >= frame.ReferralRequestReceivedDate) & (frame[date_col] <= end)
    return frame[ok]


def _sessions(
    folder: Path, ref: pd.DataFrame, as_at: date, counted: pd.Index, defs: Definitions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = month_id(as_at)
    rules = defs.contacts
    con = _activity(
        folder,
        "IDS201CareContact",
        ["CareContDate", "AppType", "AttendOrDNACode", "PlannedCareContIndicator"],
        counted,
        m,
    )
    assert con is not None
    act = _activity(
        folder, "IDS202CareActivity", ["CareContactId", "CodeProcAndProcStatus"], counted, m
    )
    con = _window(con, "CareContDate", ref, as_at)
    attended = con.AttendOrDNACode.astype("string").str.strip().isin(rules.attended_codes) | (
        con.PlannedCareContIndicator.astype("string").str.strip() == rules.unplanned_indicator
    )
    app = con.AppType.astype("string").str.strip()
    treat = attended & app.isin(rules.treatment_app_types)
    if rules.exclude_employment_support_only and act is not None:
        a = act.assign(
            emp=act.CodeProcAndProcStatus.astype("string")
            .str.strip()
            .isin(rules.employment_support_codes)
        )
        per = a.groupby(["PathwayID", "CareContactId"]).emp.agg(["size", "sum"])
        emp_only = per.index[per["size"] == per["sum"]]
        key = pd.MultiIndex.from_frame(con[["PathwayID", "CareContactId"]])
        treat &= ~key.isin(emp_only)
    sessions = con.loc[treat, ["PathwayID", "CareContDate"]].rename(columns={"CareContDate": "d"})
    assess = con.loc[attended & app.isin(rules.assessment_app_types), ["PathwayID", "CareContDate"]]
    iet = _activity(folder, "IDS205InternetTherLog", ["DurationIntEnabledTher"], counted, m)
    if iet is not None:
        iet = _window(iet, "StartDateIntEnabledTherLog", ref, as_at)
        dur = pd.to_numeric(iet.DurationIntEnabledTher, errors="coerce")
        logs = iet.loc[
            dur > rules.iet_min_duration_exclusive, ["PathwayID", "StartDateIntEnabledTherLog"]
        ]
        sessions = pd.concat(
            [sessions, logs.rename(columns={"StartDateIntEnabledTherLog": "d"})], ignore_index=True
        )
    sessions = sessions.sort_values(["PathwayID", "d"])
    rank = sessions.groupby("PathwayID").cumcount()
    g = sessions.groupby("PathwayID").d
    out = pd.DataFrame(
        {
            "TherapySession_FirstDate": g.min(),
            "TherapySession_LastDate": g.max(),
            "TreatmentCareContact_Count": g.size(),
        }
    )
    out["TherapySession_SecondDate"] = sessions[rank == 1].set_index("PathwayID").d
    return out, assess.groupby("PathwayID").CareContDate.min().to_frame("Assessment_FirstDate")


def _problems(folder: Path, counted: pd.Index, as_at: date, defs: Definitions) -> pd.Series:
    pc = _activity(
        folder,
        "IDS603PresentingComplaints",
        ["PresComp", "PresCompCodSig", "PresCompDate"],
        counted,
        month_id(as_at),
    )
    if pc is None or pc.empty:
        return pd.Series(dtype="string")
    pc = pc.assign(
        nonnull=pc.PresComp.notna(),
        primary=pc.PresCompCodSig.astype("string").str.strip().str.upper() == "P",
        code=pc.PresComp.astype("string"),
    )
    pc = pc.sort_values(
        ["PathwayID", "nonnull", "primary", "PresCompDate", "code"],
        ascending=[True, False, False, False, True],
        na_position="last",
    ).drop_duplicates("PathwayID")
    codes = pc.set_index("PathwayID").code
    mapping = {c: defs.problems.categorise(c) for c in codes.dropna().unique()}
    return codes.map(mapping).fillna(defs.problems.unspecified)


def _scaled(value: Decimal | None) -> int | None:
    return None if value is None else int(value * SCALE)


def _scores(
    folder: Path, ref: pd.DataFrame, as_at: date, counted: pd.Index, defs: Definitions
) -> pd.DataFrame:
    m = month_id(as_at)
    tool_to_key = {code: ms.key for ms in defs.measures.values() for code in ms.tool_codes}
    s606 = _activity(folder, "IDS606CodedScoreAssessmentRefer", ["AssToolCompDate"], counted, m)
    s607 = _activity(folder, "IDS607CodedScoreAssessmentAct", ["PersScore"], counted, m)
    act = _activity(folder, "IDS202CareActivity", ["CareContactId"], counted, m)
    con = _activity(folder, "IDS201CareContact", ["CareContDate"], counted, m)
    parts = []
    if s606 is not None:
        parts.append(
            s606.rename(columns={"AssToolCompDate": "d"})[
                ["PathwayID", "CodedAssToolType", "PersScore", "d"]
            ]
        )
    if s607 is not None and act is not None and con is not None:
        x = s607.merge(
            act[["PathwayID", "CareActId", "CareContactId"]], on=["PathwayID", "CareActId"]
        )
        x = x.merge(
            con[["PathwayID", "CareContactId", "CareContDate"]], on=["PathwayID", "CareContactId"]
        )
        parts.append(
            x.rename(columns={"CareContDate": "d"})[
                ["PathwayID", "CodedAssToolType", "PersScore", "d"]
            ]
        )
    s = pd.concat(parts, ignore_index=True)
    s["measure"] = s.CodedAssToolType.astype("string").str.strip().map(tool_to_key)
    text = s.PersScore.astype("string").str.strip()
    ok = text.str.match(SCORE_RE).fillna(False).astype(bool)
    num = pd.to_numeric(text.where(ok), errors="coerce")
    s["score"] = np.round(num * SCALE).astype("Int64")
    s = s[s.measure.notna() & s.score.notna()]
    lo = s.measure.map({k: _scaled(v.valid_min) for k, v in defs.measures.items()})
    hi = s.measure.map({k: _scaled(v.valid_max) for k, v in defs.measures.items()})
    s = s[(s.score >= lo) & (s.score <= hi)]
    s = _window(s, "d", ref, as_at)
    daily = s.groupby(["PathwayID", "measure", "d"]).score
    daily = (daily.max() if defs.scores.same_day_rule == "highest" else daily.min()).reset_index()
    daily = daily.sort_values(["PathwayID", "measure", "d"])
    g = daily.groupby(["PathwayID", "measure"]).score
    per = pd.DataFrame({"first": g.first(), "last": g.last(), "days": g.size()})
    per.loc[per.days < defs.scores.min_paired_days, "last"] = pd.NA
    return per


def _op(values: pd.Series, op: str, threshold: Decimal | None) -> pd.Series:
    if threshold is None:
        return pd.Series(False, index=values.index)
    t = _scaled(threshold)
    out = values >= t if op == ">=" else values > t
    return out.fillna(False).astype(bool)


def _case(m: ScoreMeasure, x: pd.Series) -> pd.Series:
    return _op(x, m.case_operator, m.case_threshold)


def _rc(m: ScoreMeasure, d: pd.Series) -> pd.Series:
    return _op(d, m.rc_operator, m.rc_threshold)


def derive_pandas(folder: Path, as_at: date, defs: Definitions) -> pd.DataFrame:
    """One row per pathway as at ``as_at`` (docs/measures.md §1), in plain pandas."""
    counted = _counted_ids(folder)
    ref = _referrals(folder, as_at, counted)
    sessions, assess = _sessions(folder, ref, as_at, counted, defs)
    out = ref.join(sessions).join(assess)
    out["TreatmentCareContact_Count"] = out.TreatmentCareContact_Count.fillna(0).astype("int64")
    out["ProblemDescriptor"] = (
        _problems(folder, counted, as_at, defs).reindex(out.index).fillna(defs.problems.unspecified)
    )
    adsm_of = {c: defs.problems.adsm_for(c) for c in out.ProblemDescriptor.unique()}
    adsm = out.ProblemDescriptor.map(adsm_of)
    usable_of = {
        c: k is not None and defs.measures[k].thresholds_published for c, k in adsm_of.items()
    }
    scores = _scores(folder, ref, as_at, counted, defs)

    def pick(key: str, which: str) -> pd.Series:
        try:
            col = scores[which].xs(key, level="measure")
        except KeyError:
            return pd.Series(pd.NA, index=out.index, dtype="Int64")
        return col.reindex(out.index).astype("Int64")

    phq, gad = defs.depression, defs.default_anxiety
    phq_f, phq_l = pick(phq.key, "first"), pick(phq.key, "last")
    gad_f, gad_l = pick(gad.key, "first"), pick(gad.key, "last")
    adsm_f = pd.Series(pd.NA, index=out.index, dtype="Int64")
    adsm_l = adsm_f.copy()
    for key in adsm.dropna().unique():
        rows = adsm == key
        adsm_f[rows] = pick(key, "first")[rows]
        adsm_l[rows] = pick(key, "last")[rows]
    completed = out.ServDischDate.notna() & (out.TreatmentCareContact_Count >= 2)
    usable = out.ProblemDescriptor.map(usable_of).astype(bool)
    use_adsm = usable & adsm_f.notna() & adsm_l.notna()
    anx_f = adsm_f.where(use_adsm, gad_f)
    anx_l = adsm_l.where(use_adsm, gad_l)

    def by_measure(fn, x: pd.Series) -> pd.Series:  # type: ignore[no-untyped-def]
        res = fn(gad, x)
        for key in adsm[use_adsm].unique():
            rows = use_adsm & (adsm == key)
            res[rows] = fn(defs.measures[key], x)[rows]
        return res

    case_start = _case(phq, phq_f) | by_measure(_case, anx_f)
    not_case = phq_f.notna() & anx_f.notna() & ~case_start
    paired = phq_l.notna() & anx_l.notna()
    recovery = case_start & paired & ~_case(phq, phq_l) & ~by_measure(_case, anx_l)
    imp = _rc(phq, phq_f - phq_l) | by_measure(_rc, anx_f - anx_l)
    wor = _rc(phq, phq_l - phq_f) | by_measure(_rc, anx_l - anx_f)
    ri = paired & imp & ~wor
    rd = paired & wor & ~imp
    out["CompletedTreatment_Flag"] = completed
    out["NotCaseness_Flag"] = completed & not_case
    out["Recovery_Flag"] = completed & recovery
    out["ReliableImprovement_Flag"] = completed & ri
    out["ReliableDeterioration_Flag"] = completed & rd
    out["NoChange_Flag"] = completed & paired & ~ri & ~rd
    out["ReliableRecovery_Flag"] = out.Recovery_Flag & out.ReliableImprovement_Flag
    out["wait_to_first_treatment"] = (
        out.TherapySession_FirstDate - out.ReferralRequestReceivedDate
    ).dt.days.astype("Int64")
    return out.sort_index()


def england_counts(
    p: pd.DataFrame, start: date, end: date, waits: tuple[int, int] = (42, 126), gap: int = 90
) -> dict[str, int]:
    """The England count measures of docs/measures.md §2 from a pandas pathway table."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)

    def within(col: str) -> pd.Series:
        return (p[col] >= s) & (p[col] <= e)

    fin = within("ServDischDate") & p.CompletedTreatment_Flag
    nc = fin & p.NotCaseness_Flag
    wait = p.wait_to_first_treatment
    second = within("TherapySession_SecondDate")
    over = (p.TherapySession_SecondDate - p.TherapySession_FirstDate).dt.days > gap
    counts = {
        "referrals_received": within("ReferralRequestReceivedDate"),
        "entered_treatment": within("TherapySession_FirstDate"),
        "ended_referrals": within("ServDischDate"),
        "finished_treatment": fin,
        "not_at_caseness": nc,
        "at_caseness": fin & ~nc,
        "recovered": fin & p.Recovery_Flag,
        "reliably_improved": fin & p.ReliableImprovement_Flag,
        "reliably_deteriorated": fin & p.ReliableDeterioration_Flag,
        "no_reliable_change": fin & p.NoChange_Flag,
        "reliably_recovered": fin & p.ReliableRecovery_Flag,
        "waited_6_weeks": fin & (wait <= waits[0]).fillna(False).astype(bool),
        "waited_18_weeks": fin & (wait <= waits[1]).fillna(False).astype(bool),
        "second_treatment": second,
        "first_to_second_over_90_days": second & over.fillna(False).astype(bool),
    }
    return {k: int(v.fillna(False).astype(bool).sum()) for k, v in counts.items()}
