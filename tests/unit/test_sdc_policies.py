"""Policies: the packaged YAML files match docs/disclosure-control.md; bad files fail clearly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from iaptkit.errors import PolicyError
from iaptkit.sdc import Policy, available_policies, load_policy

# Expected values typed in from docs/disclosure-control.md ("Policies to ship").
EXPECTED = {
    # id: (threshold, zeros_suppressed, base, applies_to, margins, rates_from)
    "nhs-sde": (10, True, 5, "all", "rounded", "published"),
    "nhs-talking-therapies": (5, True, 5, "sub-national", "rounded", "published"),
    "nhs-hes": (8, False, 5, "sub-national", "rounded", "published"),
    "opensafely": (8, False, 5, "all", "sum_of_rounded", "rounded"),
    "sdap": (10, True, 1, "none", "rounded", "published"),
}


def test_every_documented_policy_is_shipped() -> None:
    assert set(available_policies()) == set(EXPECTED)


@pytest.mark.parametrize("pid", sorted(EXPECTED))
def test_policy_values_match_the_domain_table(pid: str) -> None:
    p = load_policy(pid)
    threshold, zeros, base, applies, margins, rates_from = EXPECTED[pid]
    assert p.id == pid
    assert p.version
    assert p.source
    assert p.threshold == threshold
    assert p.zeros_suppressed is zeros
    assert p.rounding_base == base
    assert p.rounding_applies_to == applies
    assert p.margins == margins
    assert p.rates_from == rates_from
    # Protection width defaults to the threshold.
    assert p.protection_width == threshold


def test_default_policy_is_nhs_sde() -> None:
    assert load_policy().id == "nhs-sde"


def test_talking_therapies_rounding_and_rate_decimals() -> None:
    p = load_policy("nhs-talking-therapies")
    assert p.rounds_cell(national=False) is True
    assert p.rounds_cell(national=True) is False
    assert (p.rate_decimals_national, p.rate_decimals_subnational) == (1, 0)


def test_sdap_statistics_rules() -> None:
    p = load_policy("sdap")
    assert p.min_contributors == 10
    assert (p.dominance_n, p.dominance_k, p.p_percent, p.min_residual_df) == (2, 90.0, 10.0, 10)
    assert p.rounds is False


def test_hes_means_need_eight_people_and_opensafely_allows_midpoint6() -> None:
    assert load_policy("nhs-hes").min_contributors == 8
    assert load_policy("opensafely").midpoint6_allowed is True
    assert load_policy("nhs-sde").midpoint6_allowed is False


def test_packaged_files_say_halves_round_up() -> None:
    from importlib import resources

    text = resources.files("iaptkit.sdc").joinpath("policies", "nhs-sde.yaml").read_text()
    assert "halves round UP" in text
    assert "12 -> 10, 13 -> 15" in text


def test_policy_is_frozen() -> None:
    p = load_policy("sdap")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.threshold = 1  # type: ignore[misc]


def test_policy_object_passes_through() -> None:
    p = load_policy("nhs-hes")
    assert load_policy(p) is p


def _write(tmp_path: Path, change: dict[str, object], drop: tuple[str, ...] = ()) -> Path:
    from importlib import resources

    raw = yaml.safe_load(
        resources.files("iaptkit.sdc").joinpath("policies", "nhs-sde.yaml").read_text()
    )
    for key, value in change.items():
        node = raw
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    for key in drop:
        node = raw
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        del node[last]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_custom_policy_from_path(tmp_path: Path) -> None:
    path = _write(tmp_path, {"id": "site-tre", "version": "2.3", "suppression.threshold": 7})
    p = load_policy(path)
    assert isinstance(p, Policy)
    assert (p.id, p.version, p.threshold, p.protection_width) == ("site-tre", "2.3", 7, 7)
    assert p.path == str(path)
    # The same file given as a string path.
    assert load_policy(str(path)).threshold == 7


def test_custom_protection_width(tmp_path: Path) -> None:
    path = _write(tmp_path, {"suppression.protection_width": 4})
    assert load_policy(path).protection_width == 4


def test_unknown_policy_id_lists_the_choices() -> None:
    with pytest.raises(PolicyError, match=r"Unknown policy 'nope'.*nhs-sde"):
        load_policy("nope")


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "absent.yaml")


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, {}, drop=("suppression.threshold",))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(path) in info.value.message
    assert "suppression.threshold" in info.value.message


def test_wrong_type_says_expected_and_found(tmp_path: Path) -> None:
    path = _write(tmp_path, {"suppression.threshold": "ten"})
    with pytest.raises(PolicyError, match=r"suppression\.threshold.*whole number.*'ten'"):
        load_policy(path)


def test_bad_choice_says_expected_and_found(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rounding.applies_to": "regional"})
    with pytest.raises(
        PolicyError, match=r"rounding\.applies_to.*all, none, sub-national.*regional"
    ):
        load_policy(path)


def test_zeros_must_be_a_known_choice(tmp_path: Path) -> None:
    path = _write(tmp_path, {"suppression.zeros": True})
    with pytest.raises(PolicyError, match=r"suppression\.zeros"):
        load_policy(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_policy(path)


def test_to_dict_is_json_safe() -> None:
    import json

    d = load_policy("opensafely").to_dict()
    assert json.loads(json.dumps(d))["threshold"] == 8
