"""The tables each measure family declares it reads are the tables its code reads.

Every typed read of an extract goes through ``Extract.table`` (``counted``, ``activity_as_at``,
``referrals_as_at`` and the submission index all call it), so recording its calls on a fresh
extract while an expression is built lists exactly the tables that expression reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from iaptkit.data import Extract, load_extract
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import pathway_table
from iaptkit.measures.families.activity import pathway_activity
from iaptkit.measures.families.conditions import pathway_ltc, pathway_wsas
from iaptkit.measures.families.employment import pathway_employment
from iaptkit.measures.families.intensity import pathway_intensity
from iaptkit.measures.families.reads import (
    FAMILY_PARTS,
    PART_TABLES,
    PATHWAY_TABLES,
    tables_not_needed,
    tables_read,
)
from iaptkit.synth.generate import write_synthetic

E = date(2024, 3, 31)
START = date(2023, 4, 1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reads") / "extract"
    write_synthetic(out, pathways=120, start="2023-04", months=12, providers=2, seed=5)
    return out


@pytest.fixture
def recorded(folder: Path) -> Iterator[tuple[Extract, set[str]]]:
    ex = load_extract(folder)
    seen: set[str] = set()
    original = ex.table

    def table(name: str, **kw: Any) -> Any:
        seen.add(ex.spec(name).name)
        return original(name, **kw)

    ex.table = table  # type: ignore[method-assign]
    try:
        yield ex, seen
    finally:
        ex.close()


def test_the_synthetic_extract_has_every_table_read(folder: Path) -> None:
    counts = json.loads((folder / "_synth.json").read_text())["row_counts"]
    assert tables_read(FAMILY_PARTS) <= set(counts)
    assert all(counts[t] > 0 for t in tables_read(FAMILY_PARTS))


def test_pathway_derivation_reads_exactly_its_declared_tables(
    recorded: tuple[Extract, set[str]],
) -> None:
    ex, seen = recorded
    pathway_table(ex, E, load_definitions())
    assert seen == PATHWAY_TABLES


PARTS: dict[str, Callable[[Extract, Any], Any]] = {
    "activity": lambda ex, w: pathway_activity(ex, w, START, E, load_definitions()),
    "intensity": lambda ex, w: pathway_intensity(ex, w, E, load_definitions()),
    "employment": lambda ex, w: pathway_employment(ex, w, E, load_definitions()),
    "ltc": lambda ex, w: pathway_ltc(ex, E, load_definitions()),
    "wsas": lambda ex, w: pathway_wsas(ex, w, E, load_definitions()),
}


@pytest.mark.parametrize("part", sorted(PART_TABLES))
def test_each_part_reads_exactly_its_declared_tables(
    recorded: tuple[Extract, set[str]], part: str
) -> None:
    ex, seen = recorded
    ex.submissions()  # the submission index (IDS000, IDS101) is read by every derivation
    refs = ex.referrals_as_at(E, nhs_fields=False)
    window = refs.select("PathwayID", "ReferralRequestReceivedDate", "ServDischDate")
    seen.clear()
    PARTS[part](ex, window)
    assert seen == PART_TABLES[part]


def test_every_family_has_its_parts_and_nothing_else_reads_ids004_or_ids602() -> None:
    assert set(FAMILY_PARTS) == set(range(9))
    assert {p for parts in FAMILY_PARTS.values() for p in parts} == set(PART_TABLES)
    present = sorted(tables_read(FAMILY_PARTS))
    assert tables_not_needed(present, ()) == {"IDS004EmpStatus", "IDS602LongTermCondition"}
    for f in range(8):
        assert tables_not_needed(present, (f,)) == tables_not_needed(present, ())
    assert tables_not_needed(present, (8,)) == frozenset()
    assert tables_not_needed(present, range(9)) == frozenset()


def test_family_0_under_nhs_conventions_computes_no_other_familys_parts(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import iaptkit.measures.families.compute as compute
    from iaptkit.measures.published import published_measures

    def not_wanted(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a part of another family was computed")

    for name in ("pathway_activity", "pathway_intensity", "pathway_employment"):
        monkeypatch.setattr(compute, name, not_wanted)
    for name in ("pathway_ltc", "pathway_wsas"):
        monkeypatch.setattr(compute, name, not_wanted)
    defs = load_definitions("nhs-published")
    assert defs.catalogue.published_at_caseness
    with load_extract(folder) as ex:
        m = published_measures(ex, START, E, "england", defs, families=[0])
    assert set(m["family"]) == {0}
    published = m.set_index("measure").loc["at_caseness_published", "value"]
    finished = m.set_index("measure").loc["finished_treatment", "value"]
    assert 0 < published <= finished
