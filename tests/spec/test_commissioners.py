"""Spec: the commissioner lookup and the ``icb`` / ``region`` breakdowns (docs/measures.md §3).

A site lookup of three Sub-ICB codes; five referrals received in June 2024 with a known code,
a code written in lower case with blanks, a code the lookup lacks and no code at all.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from builders import build

from iaptkit.definitions.commissioners import load_commissioner_lookup
from iaptkit.errors import ConfigError, DefinitionsError
from iaptkit.measures.catalogue import parse_breakdowns
from iaptkit.measures.commissioners import unknown_commissioners
from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)
LOOKUP = """lookup_version,sub_icb_code,icb_code,region_code,region_name
2026-01,00L,QHM,Y63,North East and Yorkshire
2026-01,00N,QHM,Y63,North East and Yorkshire
2026-01,15N,QUY,Y58,South West
"""


def _lookup(tmp_path: Path, text: str = LOOKUP) -> Path:
    path = tmp_path / "lookup.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _extract():  # type: ignore[no-untyped-def]
    return build(
        """
        PathwayID | ReferralRequestReceivedDate | OrgIDComm
        P1        | 2024-06-03                  | 00L
        P2        | 2024-06-04                  |  00n
        P3        | 2024-06-05                  | 15N
        P4        | 2024-06-06                  | 99X
        P5        | 2024-06-07                  | -
        """
    )


def test_icb_and_region_groups_with_codes_not_in_the_lookup_counted(tmp_path: Path) -> None:
    lookup = load_commissioner_lookup(_lookup(tmp_path))
    assert lookup.version == "2026-01"
    ex = _extract()
    m = published_measures(
        ex, S, E, "england,icb,region", families="outcomes", commissioner_lookup=lookup
    )
    got = m[m.measure == "referrals_received"].set_index(["breakdown", "group"]).value
    assert got[("england", "England")] == 5
    assert got[("icb", "QHM")] == 2  # 00L and " 00n"
    assert got[("icb", "QUY")] == 1
    assert got[("icb", "Not in lookup")] == 1  # 99X: counted, not dropped
    assert got[("icb", "Unknown")] == 1  # no commissioner
    assert (got[("region", "Y63")], got[("region", "Y58")]) == (2, 1)
    assert got.loc["icb"].sum() == got[("england", "England")]
    unknown = unknown_commissioners(ex, E, lookup)
    assert unknown.values.tolist() == [["99X", 1]]


def test_icb_breakdown_needs_a_lookup_and_all_leaves_it_out() -> None:
    with pytest.raises(ConfigError, match="needs a commissioner lookup"):
        published_measures(_extract(), S, E, "england,provider x region", families="0")
    names = {bd[0] for bd in parse_breakdowns("all")}
    assert not names & {"icb", "region"}
    assert "provider" in names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lookup_version,sub_icb_code,icb_code\nv,00L,QHM\n", "expected the columns"),
        (LOOKUP + "2026-02,01A,QHM,Y63,x\n", "expected one lookup_version"),
        (LOOKUP + "2026-01,00L,QUY,Y58,x\n", "row 5: expected one ICB and region for Sub-ICB 00L"),
        (LOOKUP + "2026-01,,QUY,Y58,x\n", "row 5: expected a version and three codes"),
    ],
)
def test_a_bad_lookup_says_what_was_expected_and_where(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(DefinitionsError, match=message):
        load_commissioner_lookup(_lookup(tmp_path, text))


def test_a_missing_lookup_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsError, match=r"nope\.csv: expected a CSV file"):
        load_commissioner_lookup(tmp_path / "nope.csv")
