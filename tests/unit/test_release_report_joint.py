"""The report's joint audit section: cells, relations, what joint protection added (issue 16)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from iaptkit.release import Release, build
from iaptkit.sdc import protect_measures

FY = ("2024-04-01", "2025-03-31")
M = "finished_treatment"


def _rows(breakdown: str, counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame([
        {"period_start": FY[0], "period_end": FY[1], "breakdown": breakdown, "group": g,
         "measure": M, "value": v, "kind": "count"} for g, v in counts.items()
    ])  # fmt: skip


def _joint_section(page: str) -> str:
    found = re.search(r'<div id="joint-audit">(.*?)</div>', page, re.S)
    assert found is not None
    return found.group(1)


def _cell(section: str, name: str) -> str:
    found = re.search(rf'<td data-joint="{name}">([^<]*)</td>', section)
    assert found is not None, name
    return found.group(1)


def test_report_shows_the_joint_audit_and_the_export_copy_hides_the_value_mass(
    tmp_path: Path,
) -> None:
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="fp")
    # England 123 = A 4 + B 51 + C 68: A (suppressed alone) is pinned by the other outputs
    rel.add_table(protect_measures(_rows("england", {"England": 123}), "sdap"), name="england")
    rel.add_table(
        protect_measures(_rows("provider", {"A": 4, "B": 51, "C": 68}), "sdap"), name="providers"
    )
    before = render_report(rel)
    assert "Not run" in _joint_section(before)
    build(rel.path, tmp_path / "export")
    shown = pd.read_csv(tmp_path / "export" / "providers.csv", dtype=str)
    england = pd.read_csv(tmp_path / "export" / "england.csv", dtype=str)
    stars = {g for g, v in zip(shown["provider"], shown["value"], strict=True) if v == "*"}
    stars |= {"England"} if (england["value"] == "*").any() else set()
    assert "A" in stars
    added = stars - {"A"}  # A was suppressed at registration, the rest joint protection added
    assert len(added) == 1
    mass = sum({"England": 123, "B": 51, "C": 68}[g] for g in added)

    checker = (rel.path / "checker" / "report.html").read_text(encoding="utf-8")
    section = _joint_section(checker)
    assert "<b>passed</b>" in section
    assert _cell(section, "n_cells") == "4"  # England, A, B, C
    assert _cell(section, "n_relations") == "1"  # England = A + B + C
    assert _cell(section, "n_suppressed") == str(len(stars))
    assert _cell(section, "added") == "1"
    assert float(_cell(section, "value_mass")) == mass
    assert _cell(section, "n_failures") == "0"
    where = "england" if added == {"England"} else "providers"
    assert f'data-uid="{where}">{where}: 1 cell(s) added' in section

    export_page = (tmp_path / "export" / "report.html").read_text(encoding="utf-8")
    exported = _joint_section(export_page)
    assert _cell(exported, "added") == "1"
    assert _cell(exported, "n_cells") == "4"
    assert 'data-joint="value_mass"' not in exported
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["joint_audit"]["added"] == 1


def render_report(rel: Release) -> str:
    from iaptkit.release.report import render_report as render

    return render(Release.open(rel.path), mode="checker")
