"""Data-quality faults injected into a synthetic extract, counted exactly.

Each rule is one that :mod:`iaptkit.data.validation` reports, with the same rule id and the same
``Table.Column`` label, so a test can compare the validation report with ``_synth.json``:

``unparseable_date``
    ``2023-02-30`` or ``n/a`` in IDS101 ReferralRequestReceivedDate and IDS201 CareContDate.
``code_not_in_list``
    IDS201 AppType ``2`` (a lost leading zero), AttendOrDNACode ``9``, IDS101 EndCode ``99``.
``score_unparseable`` / ``score_out_of_range``
    IDS607 PersScore ``abc``; a PHQ-9 PersScore ``35`` (valid range 0-27).
``discharge_before_referral``
    IDS101 ServDischDate 1-30 days before ReferralRequestReceivedDate.
``orphan_pathway``
    extra IDS201 rows whose PathwayID has no referral.
``duplicate_key``
    extra IDS201 rows repeating another row of the same submission.

File-level faults (:func:`damage_extract`, :data:`FILE_FAULTS`) damage a written CSV extract:
a truncated file, a line with an extra field, undecodable bytes, a duplicated header, a table
that is a directory, a missing table or column, a zero-byte file, a file holding another table.

Every fault is drawn per eligible row with probability ``rate`` (rules on the same column are
drawn disjointly), so the counts are exact and the files can be checked independently.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FILE_FAULTS", "PHQ9_TOOL", "FaultInjector", "damage_extract"]

Arr = npt.NDArray[Any]
PHQ9_TOOL = "720433000"
_BAD_DATES = ("2023-02-30", "n/a")


class FaultInjector:
    """Inject faults into monthly tables and keep exact counts.

    Parameters
    ----------
    rate
        Probability per eligible row of each fault.
    rng
        Random generator (its own stream, so faults never change the clean data).

    Notes
    -----
    Rule ids and ``Table.Column`` labels as reported by :mod:`iaptkit.data.validation`
    (docs/data-model.md code lists; docs/measures.md §4 valid ranges).

    Examples
    --------
    >>> t = pa.table({"PersScore": ["3", "4"], "CodedAssToolType": [PHQ9_TOOL, PHQ9_TOOL]})
    >>> inj = FaultInjector(1.0, np.random.default_rng(1))
    >>> out = inj._scores(t)
    >>> inj.counts()
    {'score_out_of_range': {'IDS607CodedScoreAssessmentAct.PersScore': 2}}
    """

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate = rate
        self.rng = rng
        self._counts: defaultdict[str, defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self._orphans = 0

    def counts(self) -> dict[str, dict[str, int]]:
        """Injected rows per rule and ``Table.Column`` (only non-zero counts)."""
        return {
            rule: dict(sorted((k, v) for k, v in cols.items() if v))
            for rule, cols in sorted(self._counts.items())
            if any(cols.values())
        }

    def _add(self, rule: str, label: str, n: int) -> None:
        self._counts[rule][label] += int(n)

    def _set(self, table: pa.Table, column: str, mask: Arr, values: pa.Array | Any) -> pa.Table:
        col = table[column].combine_chunks()
        if col.type != pa.string():
            col = pc.cast(col, pa.string())
        if not isinstance(values, pa.Array):
            values = pa.scalar(values, pa.string())
        new = pc.if_else(pa.array(mask), values, col)
        return table.set_column(table.schema.get_field_index(column), column, new)

    def inject(
        self, tables: dict[str, pa.Table], schemas: dict[str, pa.Schema]
    ) -> dict[str, pa.Table]:
        """Return the month's tables with faults injected (counts are accumulated)."""
        out = dict(tables)
        out["IDS201CareContact"] = self._contacts(out["IDS201CareContact"])
        out["IDS101Referral"] = self._referrals(out["IDS101Referral"])
        out["IDS607CodedScoreAssessmentAct"] = self._scores(out["IDS607CodedScoreAssessmentAct"])
        return out

    def _contacts(self, t: pa.Table) -> pa.Table:
        n = t.num_rows
        if n == 0:
            return t
        label = "IDS201CareContact."
        # extra rows first, so value faults below are counted on the final rows
        k_orph = int(self.rng.binomial(n, self.rate))
        k_dup = int(self.rng.binomial(n, self.rate))
        src_orph = self.rng.choice(n, size=k_orph, replace=True)
        src_dup = self.rng.choice(n, size=min(k_dup, n), replace=False)
        orph = t.take(pa.array(src_orph))
        if k_orph:
            ids = np.arange(self._orphans, self._orphans + k_orph)
            self._orphans += k_orph
            num = pc.cast(pa.array(ids), pa.string())
            orph = orph.set_column(
                orph.schema.get_field_index("PathwayID"), "PathwayID",
                pc.binary_join_element_wise("ORPHAN", num, ""),
            )  # fmt: skip
            orph = orph.set_column(
                orph.schema.get_field_index("CareContactId"), "CareContactId",
                pc.binary_join_element_wise("CCX", num, ""),
            )  # fmt: skip
        t = pa.concat_tables([t, orph, t.take(pa.array(src_dup))])
        self._add("orphan_pathway", label + "PathwayID", k_orph)
        self._add("duplicate_key", label + "CareContactId", src_dup.shape[0])
        n = t.num_rows
        bad = self.rng.random(n) < self.rate
        which = pa.array(np.array(_BAD_DATES)[self.rng.integers(0, 2, n)])
        t = self._set(t, "CareContDate", bad, which)
        self._add("unparseable_date", label + "CareContDate", bad.sum())
        app = t["AppType"].combine_chunks().to_numpy(zero_copy_only=False)
        bad = (app == "02") & (self.rng.random(n) < self.rate)
        t = self._set(t, "AppType", bad, "2")
        self._add("code_not_in_list", label + "AppType", bad.sum())
        bad = self.rng.random(n) < self.rate
        t = self._set(t, "AttendOrDNACode", bad, "9")
        self._add("code_not_in_list", label + "AttendOrDNACode", bad.sum())
        return t

    def _referrals(self, t: pa.Table) -> pa.Table:
        n = t.num_rows
        if n == 0:
            return t
        label = "IDS101Referral."
        u = self.rng.random(n)
        bad = u < self.rate
        recv = t["ReferralRequestReceivedDate"].combine_chunks()
        disch = t["ServDischDate"].combine_chunks()
        discharged = ~np.asarray(disch.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        early = discharged & (u >= self.rate) & (u < 2 * self.rate)
        recv_days = np.asarray(
            pc.cast(recv, pa.int32()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        shifted = recv_days - self.rng.integers(1, 31, n)
        new_disch = pc.if_else(
            pa.array(early), pa.array(shifted.astype(np.int32), type=pa.date32()), disch
        )
        t = t.set_column(t.schema.get_field_index("ServDischDate"), "ServDischDate", new_disch)
        self._add("discharge_before_referral", label + "ServDischDate", early.sum())
        which = pa.array(np.array(_BAD_DATES)[self.rng.integers(0, 2, n)])
        t = self._set(t, "ReferralRequestReceivedDate", bad, which)
        self._add("unparseable_date", label + "ReferralRequestReceivedDate", bad.sum())
        end_bad = discharged & (self.rng.random(n) < self.rate)
        t = self._set(t, "EndCode", end_bad, "99")
        self._add("code_not_in_list", label + "EndCode", end_bad.sum())
        return t

    def _scores(self, t: pa.Table) -> pa.Table:
        n = t.num_rows
        if n == 0:
            return t
        label = "IDS607CodedScoreAssessmentAct.PersScore"
        tool = t["CodedAssToolType"].combine_chunks().to_numpy(zero_copy_only=False)
        u = self.rng.random(n)
        oor = (tool == PHQ9_TOOL) & (u < self.rate)
        junk = (u >= self.rate) & (u < 2 * self.rate)
        t = self._set(t, "PersScore", oor, "35")
        t = self._set(t, "PersScore", junk, "abc")
        self._add("score_out_of_range", label, oor.sum())
        self._add("score_unparseable", label, junk.sum())
        return t


#: File-level faults :func:`damage_extract` makes, each one a refusal by derive and measures.
FILE_FAULTS: tuple[str, ...] = (
    "truncated_file",
    "extra_field",
    "undecodable_bytes",
    "duplicated_header",
    "table_directory",
    "missing_table",
    "missing_column",
    "zero_byte_file",
    "wrong_table",
    "oversized_line",
)


def damage_extract(folder: Path, fault: str, table: str = "IDS201CareContact") -> str:
    r"""Damage one CSV table of a written extract with one file-level fault, in place.

    Parameters
    ----------
    folder
        A synthetic extract written as CSV (:func:`iaptkit.synth.generate.write_synthetic`).
    fault
        One of :data:`FILE_FAULTS`.
    table
        The table damaged (its file ``<table>.csv``).

    Returns
    -------
    str
        The file name damaged (what a refusal must name).

    Notes
    -----
    ``truncated_file`` cuts the last line half-way; ``extra_field`` adds a field to line 3;
    ``undecodable_bytes`` puts non-UTF-8 bytes in the last line (late in the file);
    ``duplicated_header`` repeats the last column; ``table_directory`` replaces the file by a
    directory of the same name; ``wrong_table`` holds IDS000Header's rows under this table's
    name; ``oversized_line`` makes line 3 a 3 MB record (a field of digits, as when line ends
    are lost). docs/data-model.md ("Where an extract lives") says what a table file must be.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "IDS201CareContact.csv").write_text("a,b\n1,2\n3,4\n")
    ...     damage_extract(Path(d), "extra_field")
    ...     (Path(d) / "IDS201CareContact.csv").read_text().splitlines()[2]
    'IDS201CareContact.csv'
    '3,4,x'
    """
    path = folder / f"{table}.csv"
    name = path.name
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    if fault == "truncated_file":
        last = lines[-1].rstrip(b"\r\n")
        cut = last[: max(1, last.find(b",", len(last) // 2))]
        path.write_bytes(b"".join(lines[:-1]) + cut)
    elif fault == "extra_field":
        lines[2] = lines[2].rstrip(b"\r\n") + b",x\n"
        path.write_bytes(b"".join(lines))
    elif fault == "undecodable_bytes":
        lines[-1] = lines[-1].replace(b",", b",\xff\xfe", 1)
        path.write_bytes(b"".join(lines))
    elif fault == "duplicated_header":
        header = lines[0].rstrip(b"\r\n")
        last = header.rsplit(b",", 1)[-1]
        lines[0] = header + b"," + last + b"\n"
        lines[1:] = [ln.rstrip(b"\r\n") + b",\n" for ln in lines[1:]]
        path.write_bytes(b"".join(lines))
    elif fault == "table_directory":
        path.unlink()
        path.mkdir()
        (path / "part-0.csv").write_bytes(data)
    elif fault == "missing_table":
        path.unlink()
    elif fault == "missing_column":
        rows = [ln.rstrip(b"\r\n").split(b",") for ln in lines]
        path.write_bytes(b"".join(b",".join(r[1:]) + b"\n" for r in rows))
    elif fault == "zero_byte_file":
        path.write_bytes(b"")
    elif fault == "wrong_table":
        path.write_bytes((folder / "IDS000Header.csv").read_bytes())
    elif fault == "oversized_line":
        fields = lines[2].rstrip(b"\r\n").split(b",")
        fields[1] = b"9" * 3_000_000
        lines[2] = b",".join(fields) + b"\n"
        path.write_bytes(b"".join(lines))
    else:
        raise ValueError(f"unknown file fault {fault!r}: expected one of {FILE_FAULTS}")
    return name
