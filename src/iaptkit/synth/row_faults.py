"""Row-level faults in a written CSV extract: one kind each, every damaged line recorded.

:func:`damage_rows` edits a clean synthetic CSV extract (:func:`iaptkit.synth.generate.
write_synthetic`) in place and returns the data lines it damaged, so a test can compute from
the files alone what ``validate`` must report and what the row ledger must count
(docs/ledger.md):

``score_not_integer``
    an IDS607 PHQ-9 PersScore ``7.5`` (PHQ-9 scores are whole numbers 0-27);
``blank_pathway_id``
    an activity row (IDS201 by default) with a blank PathwayID;
``contact_before_referral``
    an IDS201 CareContDate ten days before its pathway's earliest ReferralRequestReceivedDate;
``empty_referral_date``
    every IDS101 row of a pathway with a blank ReferralRequestReceivedDate;
``empty_contact_date``
    an IDS201 row with a blank CareContDate;
``imd_out_of_range``
    an IDS001 IndicesOfDeprivationDecile ``11`` (deciles are 1-10);
``unparseable_month_id``
    an IDS201 Unique_MonthID that is not a number (``M1477``): the row belongs to no month;
``future_contact_date``
    an IDS201 CareContDate moved to 2099 (same month, day at most 28): after its submission's
    month and after any as-at date.

Lines are edited as text: only the damaged field changes, keeping its quoting, so every other
value reads back exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from iaptkit.synth.faults import PHQ9_TOOL

__all__ = ["ROW_FAULTS", "RowDamage", "damage_rows"]

#: Row-level faults :func:`damage_rows` makes.
ROW_FAULTS: tuple[str, ...] = (
    "score_not_integer",
    "blank_pathway_id",
    "contact_before_referral",
    "empty_referral_date",
    "empty_contact_date",
    "imd_out_of_range",
    "unparseable_month_id",
    "future_contact_date",
)

_TARGETS: dict[str, tuple[str, str]] = {
    "score_not_integer": ("IDS607CodedScoreAssessmentAct", "PersScore"),
    "blank_pathway_id": ("IDS201CareContact", "PathwayID"),
    "contact_before_referral": ("IDS201CareContact", "CareContDate"),
    "empty_referral_date": ("IDS101Referral", "ReferralRequestReceivedDate"),
    "empty_contact_date": ("IDS201CareContact", "CareContDate"),
    "imd_out_of_range": ("IDS001MPI", "IndicesOfDeprivationDecile"),
    "unparseable_month_id": ("IDS201CareContact", "Unique_MonthID"),
    "future_contact_date": ("IDS201CareContact", "CareContDate"),
}


@dataclass(frozen=True)
class RowDamage:
    """What :func:`damage_rows` changed.

    Parameters
    ----------
    fault
        One of :data:`ROW_FAULTS`.
    table, column
        The table (its file ``<table>.csv``) and the field changed.
    lines
        The file's line numbers changed (the header is line 1), in order.
    pathways
        The PathwayIDs of the rows changed (before the change), in line order.
    """

    fault: str
    table: str
    column: str
    lines: tuple[int, ...]
    pathways: tuple[str, ...]


def _split(line: str) -> list[str]:
    return line.rstrip("\r\n").split(",")


def _unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] == '"' else token


def _requote(old: str, value: str) -> str:
    return f'"{value}"' if old.startswith('"') else value


def damage_rows(folder: Path, fault: str, every: int = 7, table: str | None = None) -> RowDamage:
    """Damage every ``every``-th eligible row of one table of a CSV extract, in place.

    Parameters
    ----------
    folder
        A synthetic extract written as CSV (no field holds a comma).
    fault
        One of :data:`ROW_FAULTS`.
    every
        Damage eligible rows 1, 1 + every, 1 + 2 * every, ... (for ``empty_referral_date``,
        eligible pathways, all their IDS101 rows).
    table
        For ``blank_pathway_id``, the activity table (default IDS201CareContact).

    Returns
    -------
    RowDamage
        The lines changed and their pathways.

    Raises
    ------
    ValueError
        An unknown fault.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "IDS001MPI.csv").write_text(
    ...         '"RecordNumber","IndicesOfDeprivationDecile"\\n1,3\\n2,4\\n3,5\\n')
    ...     damage_rows(Path(d), "imd_out_of_range", every=2).lines
    ...     (Path(d) / "IDS001MPI.csv").read_text().splitlines()[3]
    (2, 4)
    '3,11'
    """
    if fault not in _TARGETS:
        raise ValueError(f"unknown row fault {fault!r}: expected one of {ROW_FAULTS}")
    name, column = _TARGETS[fault]
    if fault == "blank_pathway_id" and table is not None:
        name = table
    path = folder / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [_unquote(h) for h in _split(lines[0])]
    col = header.index(column)
    pid = header.index("PathwayID") if "PathwayID" in header else None
    rows = [_split(ln) for ln in lines[1:]]
    eligible = _eligible(folder, fault, header, rows)
    if fault == "empty_referral_date":
        assert pid is not None
        chosen_ids = {
            p for i, p in enumerate(sorted({_unquote(r[pid]) for r in rows})) if i % every == 0
        }
        chosen = [i for i in eligible if _unquote(rows[i][pid]) in chosen_ids]
    else:
        chosen = eligible[::every]
    starts = _earliest_referral_dates(folder) if fault == "contact_before_referral" else {}
    for i in chosen:
        fields = rows[i]
        old = fields[col]
        if fault == "score_not_integer":
            value = "7.5"
        elif fault == "imd_out_of_range":
            value = "11"
        elif fault == "future_contact_date":
            day = date.fromisoformat(_unquote(old)[:10])
            value = day.replace(year=2099, day=min(day.day, 28)).isoformat()
        elif fault == "unparseable_month_id":
            value = "M" + _unquote(old)  # a month ID that is not a number
        elif fault == "contact_before_referral":
            assert pid is not None
            value = (starts[_unquote(fields[pid])] - timedelta(days=10)).isoformat()
        else:
            value = ""
        fields[col] = _requote(old, value) if value else ""
        lines[i + 1] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    pathways = tuple(_unquote(rows[i][pid]) if pid is not None else "" for i in chosen)
    if fault == "blank_pathway_id":
        pathways = ()
    return RowDamage(fault, name, column, tuple(i + 2 for i in chosen), pathways)


def _eligible(folder: Path, fault: str, header: list[str], rows: list[list[str]]) -> list[int]:
    """Indexes of the rows the fault may damage."""
    if fault == "score_not_integer":
        tool = header.index("CodedAssToolType")
        return [i for i, r in enumerate(rows) if _unquote(r[tool]) == PHQ9_TOOL]
    if fault == "future_contact_date":
        date_col = header.index("CareContDate")
        return [i for i, r in enumerate(rows) if _parses(_unquote(r[date_col]))]
    if fault == "contact_before_referral":
        starts = _earliest_referral_dates(folder)
        pid = header.index("PathwayID")
        date_col = header.index("CareContDate")
        return [
            i for i, r in enumerate(rows) if _unquote(r[pid]) in starts and _unquote(r[date_col])
        ]
    return list(range(len(rows)))


def _parses(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _earliest_referral_dates(folder: Path) -> dict[str, date]:
    """PathwayID -> its earliest parseable ReferralRequestReceivedDate over all IDS101 rows."""
    lines = (folder / "IDS101Referral.csv").read_text(encoding="utf-8").splitlines()
    header = [_unquote(h) for h in _split(lines[0])]
    pid, recv = header.index("PathwayID"), header.index("ReferralRequestReceivedDate")
    out: dict[str, date] = {}
    for line in lines[1:]:
        fields = _split(line)
        try:
            day = date.fromisoformat(_unquote(fields[recv])[:10])
        except ValueError:
            continue
        key = _unquote(fields[pid])
        out[key] = min(day, out.get(key, day))
    return out
