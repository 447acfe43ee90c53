"""Unit tests of the measure definitions file and its loader (docs/measures.md §1, §3, §4)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from iaptkit.definitions import load_definitions
from iaptkit.errors import DefinitionsError

PACKAGED = Path(__file__).parents[2] / "src/iaptkit/definitions/iapt-v2.yaml"


def _write(tmp_path: Path, mutate: object) -> Path:
    raw = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    mutate(raw)  # type: ignore[operator]
    out = tmp_path / "site.yaml"
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out


def test_packaged_thresholds_match_measures_md_table() -> None:
    d = load_definitions()
    expected = {
        # key: (tool code, min, max, case, case op, rc, rc op) — docs/measures.md §4
        "PHQ9": ("720433000", "0", "27", "10", ">=", "6", ">="),
        "GAD7": ("445455005", "0", "21", "8", ">=", "4", ">="),
        "AgoraAlone": ("473355002", "1.00", "5.00", "2.3", ">", "0.73", ">="),
        "SocialPhobia": ("445552006", "0", "68", "19", ">=", "10", ">="),
        "PanicDisorder": ("450326007", "0", "28", "8", ">=", "5", ">"),
        "PTSD": ("491581000000104", "0", "80", "32", ">=", "10", ">="),
        "OCD": ("450324005", "0", "168", "40", ">=", "32", ">="),
        "AnxietyInventory": ("446793008", "0", "54", "18", ">=", "4", ">="),
        "BIQ": ("1128221000000100", "0", "72", None, ">=", None, ">="),
        "IBS": ("1083671000000108", "0", "500", "75", ">=", None, ">="),
        "CFQ": ("1077511000000101", "0", "33", None, ">=", None, ">="),
        "MUS": ("1065441000000103", "0", "30", "10", ">=", None, ">="),
    }
    assert set(d.measures) == set(expected)
    for key, (code, lo, hi, case, cop, rc, rop) in expected.items():
        m = d.measures[key]
        assert m.tool_codes == (code,)
        assert (m.valid_min, m.valid_max) == (Decimal(lo), Decimal(hi))
        assert m.case_threshold == (None if case is None else Decimal(case))
        assert m.rc_threshold == (None if rc is None else Decimal(rc))
        assert (m.case_operator, m.rc_operator) == (cop, rop)
        assert d.measure_for_tool(code) is m
    assert d.measure_for_tool("932621000000100") is None  # WSAS is not a measure


def test_packaged_contact_rules_and_published_numbers() -> None:
    d = load_definitions()
    c = d.contacts
    assert c.attended_codes == ("5", "6")
    assert c.unplanned_indicator == "N"
    assert c.treatment_app_types == ("02", "03", "05")
    assert c.assessment_app_types == ("01", "03")
    assert c.employment_support_codes == ("1098051000000103",)
    assert c.exclude_employment_support_only is True
    assert c.iet_min_duration_exclusive == 0
    assert c.min_treatment_sessions == 2
    assert d.scores.same_day_rule == "highest"
    assert d.scores.strict_comparison is False
    assert d.wait_thresholds_days == (42, 126)
    assert d.first_to_second_max_days == 90


@pytest.mark.parametrize(
    ("code", "category", "adsm"),
    [
        ("F320", "Depression", None),
        ("F33.1", "Depression", None),
        ("F400", "Agoraphobia", "AgoraAlone"),
        ("F401", "Social phobia", "SocialPhobia"),
        ("F410", "Panic disorder", "PanicDisorder"),
        ("F411", "Generalised anxiety disorder", None),
        ("F412", "Mixed anxiety and depressive disorder", None),
        ("F429", "Obsessive compulsive disorder", "OCD"),
        ("F431", "Post-traumatic stress disorder", "PTSD"),
        ("F452", "Health anxiety", "AnxietyInventory"),
        ("F408", "Other anxiety", None),
        ("F432", "Other anxiety", None),
        ("83482000", "Body dysmorphic disorder", "BIQ"),
        ("834820001", "Other", None),  # SNOMED codes match exactly, not by prefix
        ("K58.9", "Irritable bowel syndrome", "IBS"),
        ("g933", "Chronic fatigue syndrome", "CFQ"),
        ("723916001", "Medically unexplained symptoms", "MUS"),
        ("F450", "Other", None),
        ("Z000", "Other", None),
    ],
)
def test_problem_descriptor_mapping(code: str, category: str, adsm: str | None) -> None:
    p = load_definitions().problems
    assert p.categorise(code) == category
    assert p.adsm_for(category) == adsm


def test_strict_switch_turns_every_bare_at_least_into_greater_than(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["scores"]["strict_comparison"].update(value=True))
    d = load_definitions(path)
    printed = {"PTSD", "IBS", "MUS"}  # operators NHS prints explicitly (issue 18)
    assert {m.case_operator for k, m in d.measures.items() if k not in printed} == {">"}
    assert {m.rc_operator for k, m in d.measures.items() if k != "PTSD"} == {">"}
    assert (d.measures["PTSD"].case_operator, d.measures["PTSD"].rc_operator) == (">=", ">=")
    assert d.measures["PTSD"].is_case(Decimal("32")) is True
    assert d.measures["PTSD"].is_reliable_change(Decimal("10")) is True
    assert d.measures["IBS"].case_operator == ">="
    assert d.measures["MUS"].case_operator == ">="
    assert d.measures["PHQ9"].is_case(Decimal("10")) is False
    assert d.measures["PHQ9"].is_case(Decimal("10.5")) is True
    assert load_definitions().measures["PHQ9"].is_case(Decimal("10")) is True


def test_decimal_comparison_is_exact() -> None:
    mi = load_definitions().measures["AgoraAlone"]
    assert mi.is_reliable_change(Decimal("2.30") - Decimal("1.57")) is True
    assert mi.is_reliable_change(Decimal("2.30") - Decimal("1.58")) is False
    assert mi.is_case(Decimal("2.3")) is False
    assert mi.is_case(Decimal("2.31")) is True
    assert load_definitions().measures["BIQ"].is_case(Decimal("50")) is None


def test_site_can_set_unpublished_thresholds(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:  # type: ignore[type-arg]
        raw["version"] = "site-1"
        raw["measures"]["BIQ"]["case"]["threshold"] = "30"
        raw["measures"]["BIQ"]["reliable_change"]["threshold"] = "12.5"

    d = load_definitions(_write(tmp_path, mutate))
    assert d.version == "site-1"
    assert d.measures["BIQ"].thresholds_published
    assert d.measures["BIQ"].rc_threshold == Decimal("12.5")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda raw: raw["measures"]["PHQ9"]["case"].update(operator="=>"), "measures.PHQ9.case"),
        (lambda raw: raw["measures"]["GAD7"].update(valid_range=["21", "0"]), "valid_range"),
        (lambda raw: raw["measures"]["GAD7"].update(valid_range=["a", "3"]), "valid_range[0]"),
        (lambda raw: raw["contacts"].pop("attended_codes"), "contacts.attended_codes"),
        (lambda raw: raw["contacts"]["attended_codes"].pop("source"), "attended_codes.source"),
        (lambda raw: raw["scores"]["same_day_rule"].update(value="mean"), "same_day_rule"),
        (
            lambda raw: raw["contacts"]["min_treatment_sessions"].update(value=0),
            "contacts.min_treatment_sessions",
        ),
        (
            lambda raw: raw["problem_descriptors"]["ids603_tiebreak"].update(value=["newest"]),
            "ids603_tiebreak[0]",
        ),
        (
            lambda raw: raw["problem_descriptors"]["rules"][0].update(adsm="Nope"),
            "rules[0].adsm",
        ),
        (lambda raw: raw["measures"]["MUS"].update(tool_codes=["720433000"]), "720433000"),
        (lambda raw: raw["measures"]["GAD7"]["case"].update(threshold=None), "measures.GAD7"),
    ],
)
def test_malformed_files_raise_definitions_error_naming_file_and_key(
    tmp_path: Path, mutate: object, fragment: str
) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(DefinitionsError) as info:
        load_definitions(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_missing_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsError, match="not found"):
        load_definitions(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(DefinitionsError, match="not valid YAML"):
        load_definitions(bad)


def test_definitions_are_frozen() -> None:
    d = load_definitions()
    with pytest.raises(AttributeError):
        d.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.measures["X"] = d.measures["PHQ9"]  # type: ignore[index]


def test_nhs_published_set_ships_beside_the_default_and_leaves_it_unchanged() -> None:
    nhs = load_definitions("nhs-published")
    default = load_definitions()
    assert nhs.version.startswith("nhs-published")
    assert default.version == "iapt-v2-2026.1"
    # gender 9 on its own; labels as published
    assert nhs.breakdowns.gender["9"] == "Indeterminate"
    assert "9" not in default.breakdowns.gender
    assert [b.label for b in nhs.breakdowns.age_bands][1] == "18 to 25"
    # published problem-descriptor categories: F40.2 apart, other mental health vs other recorded
    assert nhs.problems.categorise("F40.2") == "Specific (isolated) phobias"
    assert nhs.problems.categorise("F50.0") == "Other mental health problems"
    assert nhs.problems.categorise("Z99") == "Other recorded problems"
    assert default.problems.categorise("F40.2") == "Other anxiety"
    assert default.problems.categorise("F50.0") == "Other"
    # NHS monthly files read the reporting month's submissions for stocks
    assert (nhs.catalogue.stock_rule, default.catalogue.stock_rule) == ("reporting-month", "latest")
    # the published at-caseness count beside the recovery denominator
    assert (nhs.catalogue.published_at_caseness, default.catalogue.published_at_caseness) == (
        True,
        False,
    )
    # everything else (scores, thresholds) is the same
    assert nhs.measures == default.measures


def test_catalogue_settings_are_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["catalogue"]["stock_rule"].update(value="monthly"))
    with pytest.raises(DefinitionsError, match=r"catalogue\.stock_rule"):
        load_definitions(path)
    path = _write(tmp_path, lambda raw: raw["catalogue"]["therapy_types"]["value"].pop("couples"))
    with pytest.raises(DefinitionsError, match=r"catalogue\.therapy_types"):
        load_definitions(path)
    path = _write(
        tmp_path, lambda raw: raw["catalogue"]["published_at_caseness"].update(value="yes")
    )
    with pytest.raises(DefinitionsError, match=r"catalogue\.published_at_caseness"):
        load_definitions(path)
    default = load_definitions().catalogue
    assert default.therapy_types["cbt"] == ("304891004", "228557008")
    assert default.stage_high_intensity_omitted == ()
    # a site file without the section gets the packaged values
    path = _write(tmp_path, lambda raw: raw.pop("catalogue"))
    assert load_definitions(path).catalogue == load_definitions().catalogue


@pytest.mark.parametrize("name", ["iapt-v2.yaml", "nhs-published.yaml"])
def test_the_fast_yaml_loader_reads_the_packaged_files_as_pyyaml_does(name: str) -> None:
    from importlib import resources

    import yaml

    from iaptkit.definitions.yaml_text import yaml_data

    text = (resources.files("iaptkit.definitions") / name).read_text(encoding="utf-8")
    fast, slow = yaml_data(text), yaml.safe_load(text)
    assert fast == slow
    assert repr(fast) == repr(slow)  # same types and key order, not only equal values
    assert len(repr(fast)) > 1000
