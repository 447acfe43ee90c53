"""Spec: waiting-list stocks at the period end under each ``catalogue.stock_rule``.

docs/measures.md §5.2 and §5.5, from a whole extract (the stock providers are read from its
submissions). Provider R1A submits in May 2024 (month 1490) and June (1491); provider R2B
submits in May only, so June is its missing provider-month. E = 2024-06-30.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from builders import build

from iaptkit.definitions import load_definitions
from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)

REFERRALS = """
    PathwayID | OrgID_Provider | Sub | Month | ReferralRequestReceivedDate | ServDischDate
    P1        | R1A            | 1   | 1490  | 2024-05-02                  |
    P1        | R1A            | 2   | 1491  | 2024-05-02                  |
    P2        | R2B            | 3   | 1490  | 2024-05-03                  |
    P3        | R1A            | 2   | 1491  | 2024-05-04                  | 2024-06-30
    P4        | R1A            | 2   | 1491  | 2024-05-05                  | 2024-07-01
    P5        | R1A            | 2   | 1491  | 2024-07-01                  |
"""


def _stocks(definitions: str | None) -> pd.Series:
    ex = build(REFERRALS)
    defs = load_definitions(definitions) if definitions else None
    m = published_measures(ex, S, E, "england,provider", defs, families="waiting_list")
    m = m[m.measure.isin(["open_referrals", "waiting_for_treatment"])]
    return m.set_index(["breakdown", "group", "measure"]).value


def test_latest_carries_the_missing_provider_months_open_referrals() -> None:
    v = _stocks(None)  # default stock_rule: latest
    # open at E: P1; P2 (R2B's May row carried into June); P4 (discharged after E). P3 is
    # discharged on E itself; P5 is received after E.
    assert v["england", "England", "open_referrals"] == 3
    assert v["england", "England", "waiting_for_treatment"] == 3
    assert v["provider", "R2B", "open_referrals"] == 1
    assert v["provider", "R1A", "open_referrals"] == 2


def test_reporting_month_drops_the_provider_without_a_june_submission() -> None:
    v = _stocks("nhs-published")  # stock_rule: reporting-month
    assert v["england", "England", "open_referrals"] == 2
    assert v["england", "England", "waiting_for_treatment"] == 2
    assert v.get(("provider", "R2B", "open_referrals"), 0) == 0
    assert v["provider", "R1A", "open_referrals"] == 2
