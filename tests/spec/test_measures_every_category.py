"""Spec: every label of a breakdown is a row of the protected measures (absent categories).

A group missing from a measures table reads as a count of 0; under a policy that suppresses
zeros the missing row would give the zero away. ``with_every_category`` adds the rows
(docs/disclosure-control.md, "Linked outputs"), and ``protect_measures`` then suppresses them.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from iaptkit.definitions import load_definitions
from iaptkit.errors import ConfigError
from iaptkit.sdc import protect_measures
from iaptkit.sdc.categories import with_every_category

DEFS = load_definitions()
RULES = DEFS.breakdowns
GENDERS = ("Male", "Female", "Other or not known")


def _table(breakdown: str, groups: dict[str, int], version: str = "v") -> pd.DataFrame:
    rows = []
    for g, n in groups.items():
        base = dict(period_start="2024-04-01", period_end="2025-03-31", breakdown=breakdown,
                    group=g, definitions_version=version)  # fmt: skip
        rows.append({**base, "measure": "at_caseness", "value": float(n), "kind": "count"})
        rows.append({**base, "measure": "recovered", "value": float(n // 2), "kind": "count"})
        rows.append({**base, "measure": "recovery_rate", "value": 50.0, "kind": "rate",
                     "numerator": "recovered", "denominator": "at_caseness"})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_missing_gender_is_a_row_of_zero_counts_and_empty_rates() -> None:
    full = with_every_category(_table("gender", {"Male": 40, "Female": 60}), RULES)
    other = full[full["group"] == "Other or not known"].set_index("measure")
    assert other.loc["at_caseness", "value"] == 0
    assert other.loc["recovered", "value"] == 0
    assert math.isnan(other.loc["recovery_rate", "value"])
    assert other.loc["recovery_rate", "denominator"] == "at_caseness"  # copied from its measure
    assert other["definitions_version"].eq("v").all()
    assert len(full) == 9  # 3 genders x 3 measures, nothing else added


def test_a_combined_breakdown_gets_every_label_under_each_provider_found() -> None:
    t = _table("provider x gender", {"A | Male": 40, "A | Female": 60, "B | Male": 12})
    full = with_every_category(t, RULES)
    groups = set(full["group"])
    assert groups == {f"{p} | {g}" for p in "AB" for g in GENDERS}  # no provider invented


def test_breakdowns_without_labels_and_complete_ones_are_left_as_they_are() -> None:
    t = pd.concat([_table("provider", {"A": 40}), _table("gender", dict.fromkeys(GENDERS, 30))])
    full = with_every_category(t, RULES)
    assert len(full) == len(t)


def test_protect_measures_adds_the_zero_rows_itself_and_suppresses_them() -> None:
    # The Python route (README): protect_measures(published_measures(...)) with no extra step.
    t = _table("gender", {"Male": 40, "Female": 60}, version=DEFS.version)
    published = protect_measures(t, "nhs-sde").export()
    other = published[published["gender"] == "Other or not known"]
    assert len(other) == 3
    assert other["value"].eq("*").all()
    male = published[(published["gender"] == "Male") & (published["measure"] == "at_caseness")]
    assert male["value"].tolist() == ["40"]


def test_the_labels_follow_the_definitions_set_the_table_names() -> None:
    nhs = load_definitions("nhs-published")
    t = _table("gender", {"Male": 40, "Female": 60}, version=nhs.version)
    published = protect_measures(t, "nhs-sde").export()
    assert set(published["gender"]) == {
        "Male", "Female", *nhs.breakdowns.gender.values(), nhs.breakdowns.gender_other
    }  # fmt: skip
    assert "Other or not known" not in set(published["gender"])


def test_a_site_definitions_version_needs_its_labels_passed() -> None:
    t = _table("gender", {"Male": 40, "Female": 60}, version="site-2026.3")
    with pytest.raises(ConfigError, match=r"site-2026\.3.*categories="):
        protect_measures(t, "nhs-sde")
    published = protect_measures(t, "nhs-sde", categories=RULES).export()
    assert set(published["gender"]) == set(GENDERS)


def test_labels_of_other_definitions_are_refused_not_padded() -> None:
    t = _table("gender", {"Man": 40, "Woman": 60}, version=DEFS.version)
    with pytest.raises(ConfigError, match=r"gender labels.*'Man'"):
        protect_measures(t, "nhs-sde")


def test_a_table_without_labelled_breakdowns_needs_no_definitions() -> None:
    t = _table("provider", {"A": 40, "B": 60}, version="site-2026.3")
    published = protect_measures(t, "nhs-sde").export()
    assert sorted(set(published["provider"])) == ["A", "B"]
