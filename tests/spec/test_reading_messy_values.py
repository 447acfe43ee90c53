"""Spec: values as messy extracts hold them read as what they mean (docs/data-model.md).

Blanks around an identifier are not part of it (a contact's ``" P1 "`` belongs to pathway
``P1``); ODS organisation codes are upper case (``r1b`` is provider ``R1B``); validation checks
codes in the form the measures read them, so what it accepts is what the measures count.
"""

from __future__ import annotations

from builders import build, derive

from iaptkit.data import validate

REFERRALS = """
    PathwayID | RecordNumber | OrgID_Provider | OrgIDComm
    P1        | 1            | r1b            | c01
    P2        | 2            | R1B            | C01
"""
CONTACTS = """
    PathwayID | CareContDate | AppType | AttendOrDNACode
    P1        | 2024-04-10   | 02      | 5
    P1        | 2024-04-20   | 02      | 5
    P2        | 2024-04-12   | 02      | 5
"""


def test_padded_pathway_ids_link_contacts_to_their_pathway() -> None:
    plain = derive(build(REFERRALS, contacts=CONTACTS))
    padded = derive(
        build(REFERRALS, contacts=CONTACTS, padded={"IDS201CareContact": ("PathwayID",)})
    )
    assert (
        padded.loc["P1", "TreatmentCareContact_Count"]
        == plain.loc["P1", "TreatmentCareContact_Count"]
        == 2
    )
    assert padded.loc["P2", "TreatmentCareContact_Count"] == 1


def test_padded_referral_ids_keep_their_pathway_id() -> None:
    rows = derive(build(REFERRALS, contacts=CONTACTS, padded={"IDS101Referral": ("PathwayID",)}))
    assert sorted(rows.index) == ["P1", "P2"]
    assert rows.loc["P1", "TreatmentCareContact_Count"] == 2


def test_provider_and_commissioner_codes_are_upper_case() -> None:
    rows = derive(build(REFERRALS, contacts=CONTACTS))
    assert rows["provider"].tolist() == ["R1B", "R1B"]
    assert rows["commissioner"].tolist() == ["C01", "C01"]


def test_validation_accepts_codes_the_measures_read() -> None:
    people = """
        RecordNumber | Person_ID | Gender | EthnicCategory | IMD
        1            | X1        | x      | a              | 5
        2            | X2        | 2      | Q              | 5
    """
    ex = build(
        REFERRALS, contacts=CONTACTS, people=people, padded={"IDS201CareContact": ("AppType",)}
    )
    rows = derive(ex)
    assert rows.loc["P1", "ethnic_group"] == "White"  # "a" is the category A
    report = validate(ex)
    flagged = {(p.table, p.column, p.rows) for p in report.problems if p.rule == "code_not_in_list"}
    # only Q is not an ethnic category; lower case and blanks are what the measures read
    assert flagged == {("IDS001MPI", "EthnicCategory", 1)}


def test_an_end_code_written_as_a_number_is_its_code_to_validation() -> None:
    # EndCode may arrive as a number (schema FieldSpec.numeric_code): 46.0 is 46, as the
    # family-2 counts read it; 46.5 and x are not end codes
    ex = build(
        """
        PathwayID | ServDischDate | EndCode
        P1        | 2024-05-01    | 46.0
        P2        | 2024-05-01    | 46.5
        P3        | 2024-05-01    | x
        P4        | 2024-05-01    | 46
        """
    )
    report = validate(ex)
    flagged = {(p.table, p.column, p.rows) for p in report.problems if p.rule == "code_not_in_list"}
    assert flagged == {("IDS101Referral", "EndCode", 2)}
