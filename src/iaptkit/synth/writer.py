"""Cut the simulated truth into monthly submissions and stream them to files.

Each provider submits every month (``docs/data-model.md``, "Monthly resubmission"): an
IDS000 header, one IDS101 row per open referral (ServDischDate and EndCode filled in the
discharge month), one IDS001 row per person, and the activity of the month. Some provider-months
are submitted twice: the refresh has a higher UniqueSubmissionID and the full month; the
superseded primary stays in the files with a small difference (a few attended contacts recorded
as did-not-attend) that only a loader which ignores it gets right.

Tables are built month by month as pyarrow tables and appended to one file per table (parquet
row groups or CSV), so memory is bounded by one month of one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from iaptkit.data.schema import NHS_DERIVED_FIELDS, TABLES
from iaptkit.synth import optional_fields as opt
from iaptkit.synth.codes import (
    ACT_BOTH,
    ACT_ES,
    ACT_THERAPY,
    APP_TYPES,
    ATTEND_CODES,
    DESCRIPTORS,
    EMPLOY_STATUS,
    END_CODES,
    ETHNIC,
    GENDERS,
    IET_PROGRAMMES,
    LTC_CODES,
    MEASURES,
    SECONDARY_CODES,
    SOURCES_OF_REFERRAL,
)
from iaptkit.synth.nhs import EventIndex, nhs_fields
from iaptkit.synth.truth import Truth, month_of_day

__all__ = ["FAULT_DATE_COLUMNS", "MonthCutter", "TableSink", "arrow_schema"]

Arr = npt.NDArray[Any]
_ARROW = {
    "int": pa.int64(),
    "str": pa.string(),
    "code": pa.string(),
    "score": pa.string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
#: Date columns written as text when faults are injected (they may hold "n/a").
FAULT_DATE_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {("IDS101Referral", "ReferralRequestReceivedDate"), ("IDS201CareContact", "CareContDate")}
)
_NHS_NAMES = frozenset(f.name for f in NHS_DERIVED_FIELDS)
_REFRESH_OFFSET = 500


def arrow_schema(table: str, *, with_nhs_fields: bool, faults: bool) -> pa.Schema:
    """The arrow schema of a written table: schema.TABLES types, codes and scores as text.

    Notes
    -----
    Types follow ``iaptkit.data.schema`` (docs/data-model.md): int -> int64, date -> date32,
    bool -> bool, str/code/score -> string. With faults, the two date columns that receive
    unparseable dates (:data:`FAULT_DATE_COLUMNS`) are written as text.

    Examples
    --------
    >>> arrow_schema("IDS201CareContact", with_nhs_fields=False, faults=False).field("AppType").type
    DataType(string)
    """
    spec = TABLES[table]
    fields = []
    for f in spec.fields:
        if f.name in _NHS_NAMES and not with_nhs_fields:
            continue
        typ = _ARROW[f.type]
        if faults and (table, f.name) in FAULT_DATE_COLUMNS:
            typ = pa.string()
        fields.append(pa.field(f.name, typ))
    return pa.schema(fields)


def _ids(prefix: str, numbers: Arr, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(numbers, type=pa.int64()), pa.string())
    if width:
        text = pc.utf8_lpad(text, width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _vocab(values: tuple[str, ...], idx: Arr, null: Arr | None = None) -> pa.Array:
    arr = pa.array(values, type=pa.string()).take(pa.array(np.maximum(idx, 0)))
    if null is not None:
        arr = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), arr)
    return arr


def _dates(days: Arr, null: Arr | None = None) -> pa.Array:
    mask = None if null is None else np.asarray(null, dtype=bool)
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


_SCORE_TEXT = pa.array(
    [str(v) for v in range(501)] + [f"{v // 100}.{v % 100:02d}" for v in range(501)],
    type=pa.string(),
)
_DECIMALS = np.array([m.decimals for m in MEASURES])


def _scores(values: Arr, measure: Arr, null: Arr | None = None) -> pa.Array:
    """Scores in hundredths written as text: integers, or two decimals for the MI (1.00-5.00)."""
    dec = _DECIMALS[measure] > 0
    index = np.where(dec, 501 + np.clip(values, 0, 500), np.clip(values // 100, 0, 500))
    text = _SCORE_TEXT.take(pa.array(index))
    if null is not None:
        text = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), text)
    return text


@dataclass
class TableSink:
    """One output file per table; appends monthly pieces; counts rows.

    Notes
    -----
    Parquet (snappy, one row group per month) or CSV (header, codes quoted); file names are
    the data-dictionary table names (docs/data-model.md, "Where an extract lives").

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     schema = arrow_schema("IDS000Header", with_nhs_fields=False, faults=False)
    ...     sink = TableSink(Path(d), "csv", {"IDS000Header": schema})
    ...     sink.close()
    ...     (Path(d) / "IDS000Header.csv").read_text().count(",")
    4
    """

    folder: Path
    fmt: Literal["parquet", "csv"]
    schemas: dict[str, pa.Schema]
    rows: dict[str, int] = field(default_factory=dict)
    _writers: dict[str, Any] = field(default_factory=dict)

    def write(self, table: str, data: pa.Table) -> None:
        """Append ``data`` (cast to the table's schema) to the table's file."""
        schema = self.schemas[table]
        data = data.select(schema.names).cast(schema)
        w = self._writers.get(table)
        if w is None:
            path = self.folder / f"{table}.{self.fmt}"
            if self.fmt == "parquet":
                w = pq.ParquetWriter(path, schema, compression="snappy")
            else:
                w = pcsv.CSVWriter(
                    path, schema, write_options=pcsv.WriteOptions(quoting_style="needed")
                )
            self._writers[table] = w
        if data.num_rows:
            w.write_table(data)
        self.rows[table] = self.rows.get(table, 0) + data.num_rows

    def close(self) -> None:
        """Close every file, writing empty files (header/schema only) for empty tables."""
        for table, schema in self.schemas.items():
            if table not in self._writers:
                self.write(table, schema.empty_table())
        for w in self._writers.values():
            w.close()
        self._writers.clear()


@dataclass
class MonthCutter:
    """Build the pyarrow tables of every submission of one month from the truth.

    Notes
    -----
    docs/data-model.md, "Monthly resubmission": each provider submits every month; open referrals
    are resubmitted monthly; about ``refresh_rate`` of provider-months get a refresh with a
    higher UniqueSubmissionID (primary ids ``100000 + 1000 * month + provider``, refresh
    ``+ 500``).

    Examples
    --------
    >>> from iaptkit.synth.model import simulate
    >>> t = simulate(300, 639, 2, 2, np.random.default_rng(1))
    >>> cutter = MonthCutter(t, None, np.random.default_rng(2))
    >>> ids = pa.array([f"PW{i}" for i in range(300)])
    >>> tables = cutter.month(0, ids)
    >>> sorted(set(tables["IDS000Header"]["Unique_MonthID"].to_pylist()))
    [1477]
    """

    t: Truth
    index: EventIndex | None  # None: no NHS-derived fields
    rng: np.random.Generator
    refresh_rate: float = 0.05
    provider_codes: pa.Array = field(init=False)
    comm_codes: pa.Array = field(init=False)
    refresh: Arr = field(init=False)

    def __post_init__(self) -> None:
        t = self.t
        letters = "ABCDEFGHJKLMNPQRTVWXY0123456789"
        codes = [f"R{letters[i // len(letters) % len(letters)]}{letters[i % len(letters)]}"
                 for i in range(t.providers)]  # fmt: skip
        self.provider_codes = pa.array(codes, type=pa.string())
        n_comm = int(t.commissioners_of.max()) + 1
        self.comm_codes = pa.array(
            [f"{j % 99 + 1:02d}{letters[j // 99 % 21]}" for j in range(n_comm)], type=pa.string()
        )
        self.refresh = self.rng.random((t.months, t.providers)) < self.refresh_rate
        # orderings: pathways by (provider, pathway); events already sorted by month first
        self._pw_order = np.lexsort((np.arange(t.n), t.prov))
        self._mR = month_of_day(t.R) - t.month0
        self._mD = month_of_day(t.D) - t.month0
        self._c_month = (month_of_day(t.c_date) - t.month0).astype(np.int16)
        self._l_month = (month_of_day(t.l_start) - t.month0).astype(np.int16)
        n_act = np.isin(t.c_acts, (ACT_THERAPY, ACT_BOTH)).astype(np.int64) + np.isin(
            t.c_acts, (ACT_BOTH, ACT_ES)
        )
        self._act_start = np.cumsum(n_act) - n_act
        # scores in contact order (contacts are in month, provider, pathway, day order)
        o = np.argsort(t.s_contact.astype(np.int64) * 16 + t.s_measure, kind="stable")
        self._s607 = o[~t.s_in_606[o]].astype(np.int32)
        self._s606 = o[t.s_in_606[o]].astype(np.int32)
        del o
        self._s607_m = self._c_month[t.s_contact[self._s607]]
        self._s606_m = self._c_month[t.s_contact[self._s606]]
        self._ref_order = np.lexsort((np.arange(t.n), t.prov, self._mR))
        self._ref_m = self._mR[self._ref_order]

    def sub_id(self, m: int, prov: Arr) -> Arr:
        """Primary UniqueSubmissionID of provider ``prov`` in month ``m`` (0-based)."""
        out: Arr = 100_000 + m * 1000 + prov.astype(np.int64)
        return out

    def _expand(self, m: int, rows: Arr, prov: Arr) -> tuple[Arr, Arr, Arr]:
        """Rows of the primaries, then the copies in refreshes: (rows, sub id, is-primary)."""
        sub = self.sub_id(m, prov)
        again = self.refresh[m, prov]
        rows2 = np.concatenate([rows, rows[again]])
        sub2 = np.concatenate([sub, sub[again] + _REFRESH_OFFSET])
        primary_of_refreshed = np.concatenate([again, np.zeros(int(again.sum()), bool)])
        return rows2, sub2, primary_of_refreshed

    def _common(self, m: int, sub: Arr, prov: Arr, n: int) -> dict[str, Any]:
        return {
            "UniqueSubmissionID": pa.array(sub, type=pa.int64()),
            "Unique_MonthID": pa.array(np.full(n, self.t.month0 + m + 838), type=pa.int64()),
            "OrgID_Provider": self.provider_codes.take(pa.array(prov)),
        }

    def month(self, m: int, pathway_ids: pa.Array) -> dict[str, pa.Table]:
        """All tables of month ``m`` (0-based), primaries and refreshes."""
        t = self.t
        out: dict[str, pa.Table] = {}
        month_id = t.month0 + m + 838
        first_day = int(np.datetime64(t.month0 + m, "M").astype("datetime64[D]").astype(np.int64))
        last_day = int(
            np.datetime64(t.month0 + m + 1, "M").astype("datetime64[D]").astype(np.int64) - 1
        )
        # ------------------------------------------------------------ IDS000
        provs = np.arange(t.providers)
        hp, hsub, _ = self._expand(m, provs, provs)
        out["IDS000Header"] = pa.table({
            "UniqueSubmissionID": pa.array(hsub, type=pa.int64()),
            "Unique_MonthID": pa.array(np.full(hp.shape[0], month_id), type=pa.int64()),
            "OrgIDProv": self.provider_codes.take(pa.array(hp)),
            "ReportingPeriodStartDate": _dates(np.full(hp.shape[0], first_day)),
            "ReportingPeriodEndDate": _dates(np.full(hp.shape[0], last_day)),
        })  # fmt: skip
        # ------------------------------------------------------------ IDS101 / IDS001
        o = self._pw_order
        active = o[(self._mR[o] <= m) & (self._mD[o] >= m)]
        pw, sub, _ = self._expand(m, active, t.prov[active])
        n = pw.shape[0]
        disc = self._mD[pw] == m
        common = self._common(m, sub, t.prov[pw], n)
        cols: dict[str, Any] = dict(common)
        cols.update({
            "PathwayID": pathway_ids.take(pa.array(pw)),
            "ServiceRequestId": _ids("SR", pw, 9),
            "RecordNumber": pa.array(t.person[pw] + 1_000_000, type=pa.int64()),
            "OrgIDComm": self.comm_codes.take(pa.array(t.comm[pw])),
            "ReferralRequestReceivedDate": _dates(t.R[pw]),
            "SourceOfReferralMH": _vocab(SOURCES_OF_REFERRAL, t.source[pw]),
            # the v2.1 name of the same field (docs/data-model.md)
            "SourceOfReferralIAPT": _vocab(SOURCES_OF_REFERRAL, t.source[pw]),
            "ServDischDate": _dates(t.D[pw], ~disc),
            "EndCode": _vocab(END_CODES, t.end_code[pw], ~disc),
            "Age_ReferralRequest_ReceivedDate": pa.array(t.age[pw], type=pa.int64()),
        })  # fmt: skip
        if self.index is not None:
            cols.update(self._nhs(pw, np.where(disc, t.D[pw], last_day), disc))
        out["IDS101Referral"] = pa.table(cols)
        # one IDS001 row per person per submission (re-referred people have several pathways)
        _, first = np.unique(sub.astype(np.int64) << 32 | t.person[pw], return_index=True)
        pp = t.person[pw[first]].astype(np.int64)
        out["IDS001MPI"] = pa.table({
            **self._common(m, sub[first], t.prov[pp], pp.shape[0]),
            "RecordNumber": pa.array(pp + 1_000_000, type=pa.int64()),
            "Person_ID": _ids("PSN", (pp * 7919 + 104729) % 1_000_000_007, 10),
            "Gender": _vocab(GENDERS, t.gender[pp]),
            "EthnicCategory": _vocab(ETHNIC, t.ethnic[pp]),
            "IndicesOfDeprivationDecile": pa.array(t.imd[pp], type=pa.int64(), mask=t.imd[pp] == 0),
            "OrgIDSubICBLocResidence": self.comm_codes.take(pa.array(t.comm[pp])),
            # age at the month's end: the age at referral plus the whole years since
            "Age_RP_EndDate": pa.array(
                t.age[pp] + np.maximum(last_day - t.R[pp], 0) * 4 // 1461, type=pa.int64()
            ),
        })  # fmt: skip
        # ------------------------------------------------------------ IDS201 / IDS202
        c0, c1 = np.searchsorted(self._c_month, [m, m + 1])
        crow = np.arange(c0, c1)
        cr, csub, corr = self._expand(m, crow, t.prov[t.c_pw[crow]])
        attend = t.c_attend[cr].copy()
        flip = corr & (attend == 5) & (self.rng.random(cr.shape[0]) < 0.03)
        attend[flip] = 3
        cpw = t.c_pw[cr]
        out["IDS201CareContact"] = pa.table({
            **self._common(m, csub, t.prov[cpw], cr.shape[0]),
            "PathwayID": pathway_ids.take(pa.array(cpw)),
            "CareContactId": _ids("CC", cr),
            "CareContDate": _dates(t.c_date[cr]),
            "AppType": _vocab(APP_TYPES, t.c_app[cr]),
            "AttendOrDNACode": _vocab(ATTEND_CODES, attend),
            "PlannedCareContIndicator": _vocab(("N", "Y"), t.c_planned[cr].astype(np.int64)),
            "ConsMechanism": _vocab(("01", "02", "04"), cr % 7 // 3),
        })  # fmt: skip
        acts = t.c_acts[crow]
        th = crow[np.isin(acts, (ACT_THERAPY, ACT_BOTH))]
        es = crow[np.isin(acts, (ACT_BOTH, ACT_ES))]
        a_contact = np.concatenate([th, es])
        a_id = np.concatenate([self._act_start[th],
                               self._act_start[es] + (t.c_acts[es] == ACT_BOTH)])  # fmt: skip
        a_code = np.concatenate([t.c_therapy[th], np.full(es.shape[0], -1)])
        ao = np.argsort(a_id, kind="stable")
        a_contact, a_id, a_code = a_contact[ao], a_id[ao], a_code[ao]
        ar, asub, _ = self._expand(m, np.arange(a_id.shape[0]), t.prov[t.c_pw[a_contact]])
        out["IDS202CareActivity"] = pa.table({
            **self._common(m, asub, t.prov[t.c_pw[a_contact[ar]]], ar.shape[0]),
            "PathwayID": pathway_ids.take(pa.array(t.c_pw[a_contact[ar]])),
            "CareContactId": _ids("CC", a_contact[ar]),
            "CareActId": _ids("CA", a_id[ar]),
            "CodeProcAndProcStatus": _vocab(opt.THERAPY_VOCAB,
                                            opt.therapy_index(a_code[ar], t.c_pw[a_contact[ar]])),
        })  # fmt: skip
        # ------------------------------------------------------------ IDS607 / IDS606
        tools = pa.array([ms.tool for ms in MEASURES], type=pa.string())
        for table, order, months in (
            ("IDS607CodedScoreAssessmentAct", self._s607, self._s607_m),
            ("IDS606CodedScoreAssessmentRefer", self._s606, self._s606_m),
        ):
            s0, s1 = np.searchsorted(months, [m, m + 1])
            part = order[s0:s1]
            sr, ssub, _ = self._expand(m, part, t.prov[t.c_pw[t.s_contact[part]]].astype(np.int64))
            contact = t.s_contact[sr]
            spw = t.c_pw[contact]
            cols = {
                **self._common(m, ssub, t.prov[spw], sr.shape[0]),
                "PathwayID": pathway_ids.take(pa.array(spw)),
                "CodedAssToolType": tools.take(pa.array(t.s_measure[sr])),
                "PersScore": _scores(t.s_value[sr], t.s_measure[sr]),
            }
            if table.startswith("IDS607"):
                cols["CareActId"] = _ids("CA", self._act_start[contact])
            else:
                cols["AssToolCompDate"] = _dates(t.c_date[contact])
            base = pa.table(cols)
            employed = np.asarray(EMPLOY_STATUS)[np.maximum(t.employ[spw], 0)] == "01"
            wsas = opt.wsas_rows(base, t.s_measure[sr] == 0, t.s_value[sr], spw, employed, contact)
            out[table] = pa.concat_tables([base, wsas])
        # ------------------------------------------------------------ IDS205
        l0, l1 = np.searchsorted(self._l_month, [m, m + 1])
        lr, lsub, _ = self._expand(m, np.arange(l0, l1), t.prov[t.l_pw[l0:l1]])
        out["IDS205InternetTherLog"] = pa.table({
            **self._common(m, lsub, t.prov[t.l_pw[lr]], lr.shape[0]),
            "PathwayID": pathway_ids.take(pa.array(t.l_pw[lr])),
            "StartDateIntEnabledTherLog": _dates(t.l_start[lr]),
            "EndDateIntEnabledTherLog": _dates(t.l_start[lr] + 6),
            "DurationIntEnabledTher": pa.array(t.l_duration[lr], type=pa.int64()),
            "IntEnabledTherProg": _vocab(IET_PROGRAMMES, t.l_prog[lr]),
        })  # fmt: skip
        # ------------------------------------------------------------ IDS603 / IDS004
        r0, r1 = np.searchsorted(self._ref_m, [m, m + 1])
        new = self._ref_order[r0:r1]
        out["IDS603PresentingComplaints"] = self._complaints(m, new, pathway_ids)
        base = new[t.person[new] == new]  # employment recorded once per person
        er, esub, _ = self._expand(m, base, t.prov[base])
        out["IDS004EmpStatus"] = pa.table({
            **self._common(m, esub, t.prov[er], er.shape[0]),
            "RecordNumber": pa.array(er + 1_000_000, type=pa.int64()),
            "EmployStatus": _vocab(EMPLOY_STATUS, t.employ[er]),
            "EmployStatusRecDate": _dates(t.R[er]),
            "SickAbsenceInd": pa.array(opt.sick_absence(t.employ[er], er), type=pa.string()),
        })  # fmt: skip
        out["IDS602LongTermCondition"] = self._conditions(m, new, pathway_ids)
        return out

    def _conditions(self, m: int, new: Arr, pathway_ids: pa.Array) -> pa.Table:
        """IDS602 rows of the referrals received in month ``m`` (see ``ltc_codes``)."""
        t = self.t
        codes = opt.ltc_codes(new)
        has = codes >= 0
        rows = new[has]
        rr, sub, _ = self._expand(m, np.arange(rows.shape[0]), t.prov[rows])
        return pa.table({
            **self._common(m, sub, t.prov[rows[rr]], rr.shape[0]),
            "PathwayID": pathway_ids.take(pa.array(rows[rr])),
            "LongTermCondition": _vocab(LTC_CODES, codes[has][rr]),
        })  # fmt: skip

    def _complaints(self, m: int, new: Arr, pathway_ids: pa.Array) -> pa.Table:
        t = self.t
        unspecified = len(DESCRIPTORS) - 1
        prim = new[t.descriptor[new] != unspecified]
        sec = new[t.secondary[new] >= 0]
        rows = np.concatenate([prim, sec])
        is_sec = np.concatenate([np.zeros(prim.shape[0], bool), np.ones(sec.shape[0], bool)])
        order = np.lexsort((is_sec, rows, t.prov[rows]))
        rows, is_sec = rows[order], is_sec[order]
        all_codes = [c for d in DESCRIPTORS for c in d.codes] + list(SECONDARY_CODES)
        offsets = np.cumsum([0] + [len(d.codes) for d in DESCRIPTORS])
        code_idx = np.where(
            is_sec,
            offsets[-1] + t.secondary[rows],
            offsets[t.descriptor[rows]] + t.pres_code[rows],
        )
        rr, sub, _ = self._expand(m, np.arange(rows.shape[0]), t.prov[rows])
        return pa.table({
            **self._common(m, sub, t.prov[rows[rr]], rr.shape[0]),
            "PathwayID": pathway_ids.take(pa.array(rows[rr])),
            "PresComp": _vocab(tuple(all_codes), code_idx[rr]),
            "PresCompCodSig": _vocab(("P", "S"), is_sec[rr].astype(np.int64)),
            "PresCompDate": _dates(t.R[rows[rr]]),
        })  # fmt: skip

    def _nhs(self, pw: Arr, cutoff: Arr, disc: Arr) -> dict[str, pa.Array]:
        assert self.index is not None
        f = nhs_fields(self.t, self.index, pw, cutoff, disc)
        null = np.int64(-1)
        phq = np.zeros(pw.shape[0], np.int64)
        gad = np.ones(pw.shape[0], np.int64)
        adsm_m = np.maximum(f.adsm, 0)
        keys = tuple(ms.key for ms in MEASURES)
        d = DESCRIPTORS
        higher = tuple(
            "Depression" if x.name == "Depression" else
            "Anxiety and stress related disorders" if x.name not in ("Other", "Unspecified") else
            x.name for x in d
        )  # fmt: skip
        desc = self.t.descriptor[pw]
        return {
            "UsePathway_Flag": pa.array(np.ones(pw.shape[0], bool)),
            "Assessment_FirstDate": _dates(f.assessment_first, f.assessment_first == null),
            "TherapySession_FirstDate": _dates(f.session_first, f.session_first == null),
            "TherapySession_SecondDate": _dates(f.session_second, f.session_second == null),
            "TherapySession_LastDate": _dates(f.session_last, f.session_last == null),
            "TreatmentCareContact_Count": pa.array(f.session_count, type=pa.int64()),
            "CompletedTreatment_Flag": pa.array(f.completed),
            "PHQ9_FirstScore": _scores(np.maximum(f.phq_first, 0), phq, f.phq_first == null),
            "PHQ9_LastScore": _scores(np.maximum(f.phq_last, 0), phq, f.phq_last == null),
            "GAD_FirstScore": _scores(np.maximum(f.gad_first, 0), gad, f.gad_first == null),
            "GAD_LastScore": _scores(np.maximum(f.gad_last, 0), gad, f.gad_last == null),
            "ADSM": _vocab(keys, adsm_m, f.adsm < 0),
            "ADSM_FirstScore": _scores(np.maximum(f.adsm_first, 0), adsm_m, f.adsm_first == null),
            "ADSM_LastScore": _scores(np.maximum(f.adsm_last, 0), adsm_m, f.adsm_last == null),
            "NotCaseness_Flag": pa.array(f.not_caseness),
            "Recovery_Flag": pa.array(f.recovery),
            "ReliableImprovement_Flag": pa.array(f.reliable_improvement),
            "NoChange_Flag": pa.array(f.no_change),
            "ReliableDeterioration_Flag": pa.array(f.reliable_deterioration),
            "PresentingComplaintHigherCategory": _vocab(higher, desc),
            "PresentingComplaintLowerCategory": _vocab(tuple(x.name for x in d), desc),
        }


ProgressFn = Callable[[int, int], None]
