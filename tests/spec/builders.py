"""Build tiny inline extracts for the derivation spec tests (ehrQL style).

Tables are written as pipe-separated text, one row per line, with only the columns a rule
needs; every other required column gets a neutral default (one submission, provider R1A, the
as-at month). Scores may name their measure in a ``Tool`` column (``PHQ9``, ``GAD7``,
``AgoraAlone``...) instead of a ``CodedAssToolType`` SNOMED code. Short column names:
``Sub`` (UniqueSubmissionID), ``Month`` (Unique_MonthID), ``Age``
(Age_ReferralRequest_ReceivedDate), ``Ethnic`` (EthnicCategory), ``IMD``
(IndicesOfDeprivationDecile).

>>> table('''
...     PathwayID | CareContDate | AppType
...     P1        | 2024-04-10   | 02
... ''').to_dict("records")
[{'PathwayID': 'P1', 'CareContDate': '2024-04-10', 'AppType': '02'}]
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from iaptkit.data import Extract, load_extract
from iaptkit.data.schema import month_id
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.measures.derive import derive_pathways

#: The default as-at date E of the spec tests.
AS_AT = date(2024, 6, 30)

TOOL = {key: m.tool_codes[0] for key, m in load_definitions().measures.items()}
EMPLOYMENT_SUPPORT = "1098051000000103"
THERAPY = "1127281000000100"  # any therapy code that is not employment support


ALIASES = {
    "Sub": "UniqueSubmissionID",
    "Month": "Unique_MonthID",
    "Age": "Age_ReferralRequest_ReceivedDate",
    "Ethnic": "EthnicCategory",
    "IMD": "IndicesOfDeprivationDecile",
}


def table(text: str) -> pd.DataFrame:
    """Parse a pipe-separated inline table; every value is text, ``-`` or blank is missing."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    rows = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split("|")]
        assert len(cells) == len(header), f"row {ln!r} has {len(cells)} cells, not {len(header)}"
        rows.append([None if c in ("", "-") else c for c in cells])
    header = [ALIASES.get(h, h) for h in header]
    return pd.DataFrame(rows, columns=header, dtype=object)


def _fill(frame: pd.DataFrame, defaults: dict[str, Any]) -> pd.DataFrame:
    out = frame.copy()
    for col, value in defaults.items():
        if col not in out.columns:
            out[col] = [value(i, r) if callable(value) else value for i, r in out.iterrows()]
    return out


def _submission(frame: pd.DataFrame) -> pd.DataFrame:
    return _fill(
        frame,
        {
            "UniqueSubmissionID": "1",
            "Unique_MonthID": str(month_id(AS_AT)),
            "OrgID_Provider": "R1A",
        },
    )


def _tools(frame: pd.DataFrame) -> pd.DataFrame:
    if "Tool" in frame.columns:
        frame = frame.copy()
        frame["CodedAssToolType"] = [TOOL.get(t, t) for t in frame.pop("Tool")]
    return frame


def build(
    referrals: str,
    *,
    contacts: str | None = None,
    activities: str | None = None,
    iet: str | None = None,
    complaints: str | None = None,
    scores: str | None = None,
    act_scores: str | None = None,
    people: str | None = None,
    extra: dict[str, str] | None = None,
    padded: dict[str, tuple[str, ...]] | None = None,
) -> Extract:
    """An extract from inline tables (see the module docstring); returns ``load_extract(...)``.

    ``extra``: other tables by name (e.g. ``IDS004EmpStatus``), given in full but for the
    submission columns. ``padded``: per table, columns whose values are written with blanks
    around them (``" P1 \t"``), as messy extracts hold them (inline cells are trimmed).
    """
    refs = _submission(table(referrals))
    refs = _fill(
        refs,
        {
            "ServiceRequestId": lambda i, r: f"S-{r['PathwayID']}",
            "RecordNumber": lambda i, r: str(i + 1),
            "OrgIDComm": "C01",
            "ReferralRequestReceivedDate": "2024-04-01",
            "SourceOfReferralMH": "B1",
            "ServDischDate": None,
            "EndCode": None,
            "Age_ReferralRequest_ReceivedDate": "30",
        },
    )
    tables: dict[str, pd.DataFrame] = {"IDS101Referral": refs}
    if people is not None:
        tables["IDS001MPI"] = _submission(table(people))
    else:
        tables["IDS001MPI"] = refs[
            ["UniqueSubmissionID", "Unique_MonthID", "OrgID_Provider", "RecordNumber"]
        ].assign(
            Person_ID=lambda f: "PER" + f.RecordNumber,
            Gender="2",
            EthnicCategory="A",
            IndicesOfDeprivationDecile="5",
        )
    if contacts is not None:
        tables["IDS201CareContact"] = _submission(
            _fill(
                table(contacts),
                {
                    "CareContactId": lambda i, r: f"CC{i + 1}",
                    "AppType": "02",
                    "AttendOrDNACode": "5",
                    "PlannedCareContIndicator": "Y",
                },
            )
        )
    if activities is not None:
        tables["IDS202CareActivity"] = _submission(
            _fill(
                table(activities),
                {"CareActId": lambda i, r: f"CA{i + 1}", "CodeProcAndProcStatus": THERAPY},
            )
        )
    if iet is not None:
        tables["IDS205InternetTherLog"] = _submission(
            _fill(
                table(iet),
                {
                    "EndDateIntEnabledTherLog": lambda i, r: r["StartDateIntEnabledTherLog"],
                    "DurationIntEnabledTher": "30",
                    "IntEnabledTherProg": lambda i, r: f"PROG{i + 1}",
                },
            )
        )
    if complaints is not None:
        tables["IDS603PresentingComplaints"] = _submission(
            _fill(table(complaints), {"PresCompCodSig": "P", "PresCompDate": "2024-04-01"})
        )
    if scores is not None:
        tables["IDS606CodedScoreAssessmentRefer"] = _submission(_tools(table(scores)))
    if act_scores is not None:
        tables["IDS607CodedScoreAssessmentAct"] = _submission(_tools(table(act_scores)))
    for name, text in (extra or {}).items():
        tables[name] = _submission(table(text))
    for name in (
        "IDS201CareContact",
        "IDS202CareActivity",
        "IDS603PresentingComplaints",
        "IDS606CodedScoreAssessmentRefer",
        "IDS607CodedScoreAssessmentAct",
    ):
        tables.setdefault(name, _empty(name))
    for name, columns in (padded or {}).items():
        frame = tables[name].copy()
        for col in columns:
            frame[col] = [v if v is None else f" {v} \t" for v in frame[col]]
        tables[name] = frame
    return load_extract(tables)


def _empty(name: str) -> pd.DataFrame:
    from iaptkit.data.schema import TABLES

    return pd.DataFrame({f.name: pd.Series([], dtype=object) for f in TABLES[name].fields})


def derive(
    ex: Extract, as_at: date = AS_AT, definitions: Definitions | None = None
) -> pd.DataFrame:
    """``derive_pathways`` indexed by PathwayID (for ``row["P1"]``-style assertions)."""
    return derive_pathways(ex, as_at, definitions).set_index("PathwayID")


def dec(text: str | None) -> Any:
    """A score as derive_pathways returns it (Float64: a float; ``None`` stays ``None``)."""
    return None if text is None else float(text)


def site_definitions(folder: Any, **changes: Any) -> Definitions:
    """The packaged definitions with some values changed, saved in ``folder`` and reloaded.

    ``strict=True`` sets ``scores.strict_comparison``; ``thresholds={"BIQ": ("30", "12")}``
    sets a measure's case and reliable-change thresholds; ``settings={"scores.same_day_rule":
    "lowest"}`` sets any ``{value, source}`` entry; ``tool_codes={"PHQ9": ["720433000", "X9"]}``
    sets a measure's CodedAssToolType list.
    """
    from pathlib import Path

    import yaml

    from iaptkit.definitions import model as module

    packaged = Path(module.__file__).parent / "iapt-v2.yaml"
    raw = yaml.safe_load(packaged.read_text(encoding="utf-8"))
    raw["version"] = "site-test"
    if changes.get("strict"):
        raw["scores"]["strict_comparison"]["value"] = True
    for key, (case, rc) in changes.get("thresholds", {}).items():
        raw["measures"][key]["case"]["threshold"] = case
        raw["measures"][key]["reliable_change"]["threshold"] = rc
    for key, codes in changes.get("tool_codes", {}).items():
        raw["measures"][key]["tool_codes"] = list(codes)
    for dotted, value in changes.get("settings", {}).items():
        section, key = dotted.split(".")
        raw[section][key]["value"] = value
    path = Path(folder) / "site.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_definitions(path)
