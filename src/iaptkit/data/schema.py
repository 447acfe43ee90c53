"""The input contract: IDS tables, their fields, types, keys and code lists.

This module is the single description of an IAPT v2.x record-level extract that the loader,
the validator and the synthetic generator share (``docs/data-model.md``). It holds
only immutable data (tuples, frozen dataclasses and read-only mappings).

Field types
-----------
``int``
    whole numbers (UniqueSubmissionID, Unique_MonthID, RecordNumber, ages, deciles, minutes).
``str``
    identifiers and free codes kept exactly as received (``PathwayID``, ``OrgIDComm``).
``code``
    a code from a code list, kept as a string: ``02`` stays ``02`` and is never an integer.
``date``
    an ISO date (a timestamp's date part is used).
``bool``
    ``true/false``, ``True/False``, ``1/0``, ``Y/N`` in any case.
``score``
    an assessment score kept raw as text; parsing and range checks belong to the measures,
    which count what fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

__all__ = [
    "BOOL_FALSE",
    "BOOL_TRUE",
    "CODE_LISTS",
    "EMPLOYMENT_SUPPORT_CODE",
    "IDENTIFIER_FIELDS",
    "NHS_DERIVED_FIELDS",
    "ORG_CODE_FIELDS",
    "TABLES",
    "FieldSpec",
    "FieldType",
    "TableSpec",
    "canonical_table_name",
    "month_id",
    "month_start",
]

FieldType = Literal["int", "str", "code", "date", "bool", "score"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of an IDS table.

    Parameters
    ----------
    name
        The data-dictionary name (canonical case), e.g. ``ReferralRequestReceivedDate``.
    type
        One of the field types described in the module docstring.
    required
        Whether a table without this column is a fatal validation problem.
    code_list
        For ``code`` fields, the key into :data:`CODE_LISTS` whose values are allowed.
    numeric_code
        For ``code`` fields: a code that may arrive written as a number (``EndCode`` 10 as
        ``10.0``), read without the trailing ``.0`` (:func:`iaptkit.data.text.read_code`).
    """

    name: str
    type: FieldType
    required: bool = True
    code_list: str | None = None
    numeric_code: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One IDS table: its name, grain, fields and natural key.

    Parameters
    ----------
    name
        Data-dictionary name, e.g. ``IDS101Referral``. DAE lower case is accepted on input.
    grain
        What one row is, in words.
    fields
        The fields, common submission fields first.
    key
        The natural key of a row *within one submission*; duplicates of it are reported.
    activity_key
        The key that identifies the same record across submissions (for activity tables,
        which are unioned over months), or ``None`` for tables read per submission.
    required
        Whether an extract without this table is a fatal validation problem.
    """

    name: str
    grain: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    activity_key: tuple[str, ...] | None = None
    required: bool = True

    @property
    def field_names(self) -> tuple[str, ...]:
        """The canonical field names, in order."""
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """The names of required fields."""
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> FieldSpec:
        """Return the field called ``name`` (case-insensitive).

        Raises
        ------
        KeyError
            If the table has no such field.
        """
        lowered = name.lower()
        for f in self.fields:
            if f.name.lower() == lowered:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def _f(
    name: str, type_: FieldType, required: bool = True, code_list: str | None = None
) -> FieldSpec:
    return FieldSpec(name=name, type=type_, required=required, code_list=code_list)


def _submission_fields(provider_field: str = "OrgID_Provider") -> tuple[FieldSpec, ...]:
    return (
        _f("UniqueSubmissionID", "int"),
        _f("Unique_MonthID", "int"),
        _f(provider_field, "str"),
    )


#: Boolean spellings accepted on input (compared case-insensitively after trimming).
BOOL_TRUE: tuple[str, ...] = ("true", "1", "y", "yes", "t")
BOOL_FALSE: tuple[str, ...] = ("false", "0", "n", "no", "f")

#: Text fields that identify (join keys and organisation codes): read without blanks around
#: them (docs/data-model.md), so ``" PW1 "`` joins ``"PW1"``. Other text is kept as received
#: and compared after trimming where the measures read it.
IDENTIFIER_FIELDS: frozenset[str] = frozenset(
    {
        "PathwayID",
        "Person_ID",
        "ServiceRequestId",
        "CareContactId",
        "CareActId",
        "OrgID_Provider",
        "OrgIDProv",
        "OrgIDComm",
        "OrgIDSubICBLocResidence",
    }
)

#: Organisation (ODS) codes among :data:`IDENTIFIER_FIELDS`: read upper case as well, so
#: ``"raa"`` is the provider ``RAA`` wherever a code is compared, grouped or shown.
ORG_CODE_FIELDS: frozenset[str] = frozenset(
    {"OrgID_Provider", "OrgIDProv", "OrgIDComm", "OrgIDSubICBLocResidence"}
)

#: SNOMED code of employment support (a care activity that is not therapy).
EMPLOYMENT_SUPPORT_CODE = "1098051000000103"

#: Code lists from docs/data-model.md ("Code lists"). EthnicCategory accepts the listed letters;
#: ``Z`` and ``99`` mean not stated.
CODE_LISTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "AttendOrDNACode": frozenset({"2", "3", "4", "5", "6", "7"}),
        "AppType": frozenset({"01", "02", "03", "05", "06"}),
        "PlannedCareContIndicator": frozenset({"Y", "N"}),
        "EndCode": frozenset(
            {"10", "11", "12", "13", "14", "16", "17", "95", "46", "47", "48", "49", "50", "96"}
        ),
        "Gender": frozenset({"1", "2", "9", "X"}),
        "EthnicCategory": frozenset({*"ABCDEFGHJKLMNPRSZ", "99"}),
        "PresCompCodSig": frozenset({"P", "S"}),
    }
)

#: NHS-derived pathway fields that may be present on IDS101 (docs/data-model.md), with types.
NHS_DERIVED_FIELDS: tuple[FieldSpec, ...] = (
    _f("UsePathway_Flag", "bool", False),
    _f("Assessment_FirstDate", "date", False),
    _f("TherapySession_FirstDate", "date", False),
    _f("TherapySession_SecondDate", "date", False),
    _f("TherapySession_LastDate", "date", False),
    _f("TreatmentCareContact_Count", "int", False),
    _f("CompletedTreatment_Flag", "bool", False),
    _f("PHQ9_FirstScore", "score", False),
    _f("PHQ9_LastScore", "score", False),
    _f("GAD_FirstScore", "score", False),
    _f("GAD_LastScore", "score", False),
    _f("ADSM", "str", False),
    _f("ADSM_FirstScore", "score", False),
    _f("ADSM_LastScore", "score", False),
    _f("NotCaseness_Flag", "bool", False),
    _f("Recovery_Flag", "bool", False),
    _f("ReliableImprovement_Flag", "bool", False),
    _f("NoChange_Flag", "bool", False),
    _f("ReliableDeterioration_Flag", "bool", False),
    _f("PresentingComplaintHigherCategory", "str", False),
    _f("PresentingComplaintLowerCategory", "str", False),
)

_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="IDS000Header",
        grain="one per submission file",
        fields=(
            *_submission_fields("OrgIDProv"),
            _f("ReportingPeriodStartDate", "date"),
            _f("ReportingPeriodEndDate", "date"),
        ),
        key=("UniqueSubmissionID",),
        required=False,
    ),
    TableSpec(
        name="IDS001MPI",
        grain="one per person per submission",
        fields=(
            *_submission_fields(),
            _f("RecordNumber", "int"),
            _f("Person_ID", "str"),
            _f("Gender", "code", code_list="Gender"),
            _f("EthnicCategory", "code", code_list="EthnicCategory"),
            _f("IndicesOfDeprivationDecile", "int"),
            _f("OrgIDSubICBLocResidence", "str", False),
            _f("Age_RP_EndDate", "int", False),
        ),
        key=("UniqueSubmissionID", "RecordNumber"),
    ),
    TableSpec(
        name="IDS101Referral",
        grain="one per referral per monthly submission",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("ServiceRequestId", "str"),
            _f("RecordNumber", "int"),
            _f("OrgIDComm", "str"),
            _f("ReferralRequestReceivedDate", "date"),
            _f("SourceOfReferralMH", "str"),
            _f("SourceOfReferralIAPT", "str", False),
            _f("ServDischDate", "date"),
            FieldSpec("EndCode", "code", code_list="EndCode", numeric_code=True),
            _f("Age_ReferralRequest_ReceivedDate", "int"),
            *NHS_DERIVED_FIELDS,
        ),
        key=("UniqueSubmissionID", "PathwayID"),
    ),
    TableSpec(
        name="IDS201CareContact",
        grain="one per appointment",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("CareContactId", "str"),
            _f("CareContDate", "date"),
            _f("AppType", "code", code_list="AppType"),
            _f("AttendOrDNACode", "code", code_list="AttendOrDNACode"),
            _f("PlannedCareContIndicator", "code", code_list="PlannedCareContIndicator"),
            _f("ConsMechanism", "str", False),
        ),
        key=("UniqueSubmissionID", "PathwayID", "CareContactId"),
        activity_key=("PathwayID", "CareContactId"),
    ),
    TableSpec(
        name="IDS202CareActivity",
        grain="one per activity within a contact",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("CareContactId", "str"),
            _f("CareActId", "str"),
            _f("CodeProcAndProcStatus", "str"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "CareActId"),
        activity_key=("PathwayID", "CareActId"),
    ),
    TableSpec(
        name="IDS205InternetTherLog",
        grain="one per weekly internet-enabled therapy log",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("StartDateIntEnabledTherLog", "date"),
            _f("EndDateIntEnabledTherLog", "date"),
            _f("DurationIntEnabledTher", "int"),
            _f("IntEnabledTherProg", "str"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "StartDateIntEnabledTherLog", "IntEnabledTherProg"),
        activity_key=("PathwayID", "StartDateIntEnabledTherLog", "IntEnabledTherProg"),
        required=False,
    ),
    TableSpec(
        name="IDS602LongTermCondition",
        grain="a long-term physical health condition of a referral",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("LongTermCondition", "str"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "LongTermCondition"),
        activity_key=("PathwayID", "LongTermCondition"),
        required=False,
    ),
    TableSpec(
        name="IDS603PresentingComplaints",
        grain="presenting complaints of a referral",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("PresComp", "str"),
            _f("PresCompCodSig", "code", code_list="PresCompCodSig"),
            _f("PresCompDate", "date"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "PresComp", "PresCompCodSig", "PresCompDate"),
        activity_key=("PathwayID", "PresComp", "PresCompCodSig", "PresCompDate"),
    ),
    TableSpec(
        name="IDS606CodedScoreAssessmentRefer",
        grain="a score recorded against the referral",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("CodedAssToolType", "str"),
            _f("PersScore", "score"),
            _f("AssToolCompDate", "date"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "CodedAssToolType", "AssToolCompDate", "PersScore"),
        activity_key=("PathwayID", "CodedAssToolType", "AssToolCompDate", "PersScore"),
    ),
    TableSpec(
        name="IDS607CodedScoreAssessmentAct",
        grain="a score recorded within a care activity",
        fields=(
            *_submission_fields(),
            _f("PathwayID", "str"),
            _f("CareActId", "str"),
            _f("CodedAssToolType", "str"),
            _f("PersScore", "score"),
        ),
        key=("UniqueSubmissionID", "PathwayID", "CareActId", "CodedAssToolType"),
        activity_key=("PathwayID", "CareActId", "CodedAssToolType"),
    ),
    TableSpec(
        name="IDS004EmpStatus",
        grain="employment records",
        fields=(
            *_submission_fields(),
            _f("RecordNumber", "int"),
            _f("EmployStatus", "str"),
            _f("EmployStatusRecDate", "date"),
            _f("SickAbsenceInd", "str", False),
        ),
        key=("UniqueSubmissionID", "RecordNumber", "EmployStatusRecDate"),
        required=False,
    ),
)

#: Every IDS table iaptkit reads, by data-dictionary name.
TABLES: Mapping[str, TableSpec] = MappingProxyType({t.name: t for t in _TABLES})

_BY_LOWER: Mapping[str, str] = MappingProxyType({name.lower(): name for name in TABLES})


def canonical_table_name(name: str) -> str | None:
    """Return the data-dictionary name for a table name in any case, or ``None``.

    Examples
    --------
    >>> canonical_table_name("ids101referral")
    'IDS101Referral'
    >>> canonical_table_name("something_else") is None
    True
    """
    return _BY_LOWER.get(name.strip().lower())


def month_id(d: date) -> int:
    """Return the ``Unique_MonthID`` of the month containing ``d``.

    ``Unique_MonthID = 12 * (year - 1900) + month - 3`` (docs/data-model.md).

    Examples
    --------
    >>> month_id(date(2018, 4, 30))
    1417
    >>> month_id(date(2024, 7, 1))
    1492
    """
    return 12 * (d.year - 1900) + d.month - 3


def month_start(unique_month_id: int) -> date:
    """Return the first day of the month with this ``Unique_MonthID``.

    Examples
    --------
    >>> month_start(1417)
    datetime.date(2018, 4, 1)
    """
    n = unique_month_id + 3 - 1
    return date(1900 + n // 12, n % 12 + 1, 1)
