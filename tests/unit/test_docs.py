"""The shipped documentation covers every published measure, questionnaire and policy.

The facts come from the public API only (``iaptkit.load_definitions``, ``iaptkit.sdc``,
``iaptkit.measures.MEASURES``), so these tests fail when a measure, a score measure or a policy is
added, renamed or changed without the documents in ``docs/`` following.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import iaptkit
from iaptkit.measures import MEASURES
from iaptkit.sdc import available_policies, load_policy

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    """A markdown heading and the text up to the next heading of the same or a higher level."""

    level: int
    title: str
    body: str


def _sections(path: Path) -> list[Section]:
    lines = path.read_text(encoding="utf-8").splitlines()
    heads: list[tuple[int, int, str]] = []
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            heads.append((i, len(match.group(1)), match.group(2).replace("`", "").strip()))
    out: list[Section] = []
    for k, (start, level, title) in enumerate(heads):
        end = len(lines)
        for later_start, later_level, _ in heads[k + 1 :]:
            if later_level <= level:
                end = later_start
                break
        out.append(Section(level, title, "\n".join(lines[start + 1 : end])))
    return out


def _mentions(title: str, name: str) -> bool:
    """Whether ``name`` is a whole token of ``title`` (``waited_6_weeks`` is not in ``*_rate``)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", title) is not None


def _sections_named(path: Path, name: str) -> list[Section]:
    return [s for s in _sections(path) if _mentions(s.title, name)]


def _published_measure_names() -> list[str]:
    names = [m.name for m in MEASURES]
    assert names, "iaptkit.measures.MEASURES is empty"
    return names


def _score_measures() -> list[tuple[str, str]]:
    definitions = iaptkit.load_definitions()
    pairs = [(key, m.name) for key, m in definitions.measures.items()]
    assert pairs, "the shipped definitions have no score measures"
    return pairs


def _policies() -> list[str]:
    ids = list(available_policies())
    assert ids, "available_policies() is empty"
    return ids


# --------------------------------------------------------------------------- the documents exist


@pytest.mark.parametrize(
    "stem", ["README", "data-model", "measures", "disclosure-control", "release-format"]
)
def test_document_exists_and_has_a_title(stem: str) -> None:
    name = f"{stem}.md"
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("# "), f"docs/{name} should start with a '# ' title, found {first!r}"


def test_docs_index_links_every_document() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.name != "README.md"]
    missing = [name for name in missing if f"({name})" not in index]
    assert not missing, f"docs/README.md does not link: {missing}"


# --------------------------------------------------------------------------- measures.md


@pytest.mark.parametrize("name", _published_measure_names())
def test_measures_doc_has_a_section_per_published_measure(name: str) -> None:
    found = _sections_named(DOCS / "measures.md", name)
    assert found, f"docs/measures.md has no heading naming the published measure {name!r}"
    assert any(s.body.strip() for s in found), f"docs/measures.md: the {name!r} section is empty"


def test_measures_doc_states_numerator_and_denominator_of_rates_and_means() -> None:
    problems = []
    for spec in MEASURES:
        if spec.kind == "count":
            continue
        body = " ".join(s.body for s in _sections_named(DOCS / "measures.md", spec.name))
        for part in (spec.numerator, spec.denominator):
            if part is not None and not _mentions(body, part):
                problems.append(f"{spec.name}: does not name {part!r}")
    assert not problems, "docs/measures.md rate/mean sections:\n" + "\n".join(problems)


@pytest.mark.parametrize(("key", "name"), _score_measures())
def test_measures_doc_has_a_section_per_score_measure(key: str, name: str) -> None:
    found = _sections_named(DOCS / "measures.md", name)
    assert found, f"docs/measures.md has no heading naming the score measure {name!r} ({key})"


def test_measures_doc_states_each_score_measure_code_range_and_thresholds() -> None:
    definitions = iaptkit.load_definitions()
    problems = []
    for key, m in definitions.measures.items():
        body = " ".join(s.body for s in _sections_named(DOCS / "measures.md", m.name))
        wanted = [*m.tool_codes, f"{m.valid_min}–{m.valid_max}"]
        for threshold in (m.case_threshold, m.rc_threshold):
            if threshold is not None:
                wanted.append(str(threshold))
        missing = [w for w in wanted if w not in body]
        if missing:
            problems.append(f"{m.name} ({key}): missing {missing}")
    assert not problems, "docs/measures.md score measure sections:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "label",
    [
        "1. Pathway derivations",
        "Contacts",
        "Pathway fields",
        "ProblemDescriptor",
        "Scores",
        "Anxiety measure",
        "Outcome flags",
        "Waits",
        "2. Published measures",
        "3. Breakdowns",
        "4. Problem descriptors and anxiety disorder specific measures",
        "NHS measure catalogue and publication conventions",
    ],
)
def test_measures_doc_keeps_the_section_labels_code_cites(label: str) -> None:
    titles = [s.title for s in _sections(DOCS / "measures.md")]
    assert any(t.startswith(label) or _mentions(t, label) for t in titles), (
        f"docs/measures.md has no heading {label!r} (cited as 'measures.md §… {label}')"
    )


# --------------------------------------------------------------------------- disclosure-control.md


@pytest.mark.parametrize("policy_id", _policies())
def test_disclosure_doc_has_a_section_per_policy(policy_id: str) -> None:
    found = _sections_named(DOCS / "disclosure-control.md", policy_id)
    assert found, f"docs/disclosure-control.md has no heading naming the policy {policy_id!r}"


@pytest.mark.parametrize("policy_id", _policies())
def test_disclosure_doc_states_each_policy_threshold(policy_id: str) -> None:
    policy = load_policy(policy_id)
    found = _sections_named(DOCS / "disclosure-control.md", policy_id)
    assert found, f"docs/disclosure-control.md has no section for {policy_id!r}"
    body = "\n".join(s.body for s in found)
    stated = re.findall(r"\*\*Threshold:\*\*\s*(\d+)", body)
    assert stated, f"docs/disclosure-control.md, {policy_id}: no '**Threshold:** N' line"
    assert {int(n) for n in stated} == {policy.threshold}, (
        f"docs/disclosure-control.md, {policy_id}: threshold stated as {stated}, "
        f"the policy file says {policy.threshold}"
    )
    assert f"1 to {policy.threshold - 1}" in body, (
        f"docs/disclosure-control.md, {policy_id}: should say which counts are suppressed "
        f"(1 to {policy.threshold - 1})"
    )


@pytest.mark.parametrize("policy_id", _policies())
def test_disclosure_doc_states_each_policy_zeros_rounding_and_width(policy_id: str) -> None:
    policy = load_policy(policy_id)
    body = "\n".join(s.body for s in _sections_named(DOCS / "disclosure-control.md", policy_id))
    zeros = re.search(r"\*\*Zeros:\*\*\s*(\w+)", body)
    assert zeros, f"docs/disclosure-control.md, {policy_id}: no '**Zeros:**' line"
    assert zeros.group(1) == ("suppressed" if policy.zeros_suppressed else "shown"), (
        f"docs/disclosure-control.md, {policy_id}: zeros stated as {zeros.group(1)!r}"
    )
    width = re.search(r"\*\*Protection width:\*\*\s*(\d+)", body)
    assert width, f"docs/disclosure-control.md, {policy_id}: no '**Protection width:**' line"
    assert int(width.group(1)) == policy.protection_width, (
        f"docs/disclosure-control.md, {policy_id}: protection width should be stated as "
        f"{policy.protection_width}"
    )
    rounding = re.search(r"\*\*Rounding:\*\*([^\n]*)", body)
    assert rounding, f"docs/disclosure-control.md, {policy_id}: no '**Rounding:**' line"
    if policy.rounds:
        assert f"nearest {policy.rounding_base}" in rounding.group(1)
        assert ("sub-national" in rounding.group(1)) == (
            policy.rounding_applies_to == "sub-national"
        )
    else:
        assert "none" in rounding.group(1).lower()
    rates = re.search(r"\*\*Rates:\*\*([^\n]*)", body)
    assert rates, f"docs/disclosure-control.md, {policy_id}: no '**Rates:**' line"
    assert f"{policy.rates_from} counts" in rates.group(1).replace("*", ""), (
        f"docs/disclosure-control.md, {policy_id}: rates should be made from the "
        f"{policy.rates_from} counts"
    )


def test_disclosure_doc_default_policy_is_marked() -> None:
    default = load_policy().id
    titles = [s.title for s in _sections_named(DOCS / "disclosure-control.md", default)]
    assert any("default" in t for t in titles), f"the default policy {default!r} is not marked"


@pytest.mark.parametrize(
    "label",
    ["Policies to ship", "The attacker", "Derived statistics", "Output checking before export"],
)
def test_disclosure_doc_keeps_the_section_labels_code_cites(label: str) -> None:
    titles = [s.title for s in _sections(DOCS / "disclosure-control.md")]
    assert label in titles, f"docs/disclosure-control.md has no heading {label!r}"


def test_disclosure_doc_says_suppressed_zeros_get_the_protection_width() -> None:
    text = (DOCS / "disclosure-control.md").read_text(encoding="utf-8")
    assert "A zero the policy suppresses is a primary and gets the same protection width" in text


# --------------------------------------------------------------------------- data-model.md


@pytest.mark.parametrize(
    "label",
    [
        "Where an extract lives",
        "Tables and fields",
        "NHS-derived pathway fields",
        "Monthly resubmission: which rows count",
        "Code lists",
    ],
)
def test_data_model_doc_keeps_the_section_labels_code_cites(label: str) -> None:
    titles = [s.title for s in _sections(DOCS / "data-model.md")]
    assert any(t.startswith(label) for t in titles), f"docs/data-model.md has no heading {label!r}"


# --------------------------------------------------------------------------- release-format.md


@pytest.mark.parametrize(
    "needle",
    [
        "release.json",
        "manifest.json",
        "results.json",
        "report.html",
        "iaptkit release build",
        "iaptkit release verify",
        "`pass`",
        "`review`",
        "`fail`",
    ],
)
def test_release_format_doc_covers(needle: str) -> None:
    assert needle in (DOCS / "release-format.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "key",
    [
        # the record keys and check names of ACRO's results.json (AI-SDC/ACRO record.py)
        *("uid", "status", "type", "properties", "files", "outcome", "command", "summary"),
        *("timestamp", "comments", "exception"),
        *("negative", "missing", "threshold", "p-ratio", "nk-rule", "all-values-are-same"),
    ],
)
def test_release_format_doc_describes_results_json_key(key: str) -> None:
    text = (DOCS / "release-format.md").read_text(encoding="utf-8")
    assert f"`{key}`" in text, f"docs/release-format.md does not describe results.json key {key!r}"


# --------------------------------------------------------------------------- catalogue families


def _family_measures() -> list[tuple[str, str | None]]:
    from iaptkit.measures.families.specs import FAMILY_MEASURES, NHS_MEASURE_IDS

    return [(m.name, NHS_MEASURE_IDS.get(m.name)) for m in FAMILY_MEASURES]


@pytest.mark.parametrize(("name", "nhs_id"), _family_measures())
def test_measures_doc_has_a_section_per_family_measure_with_its_nhs_id(
    name: str, nhs_id: str | None
) -> None:
    found = _sections_named(DOCS / "measures.md", name)
    assert found, f"docs/measures.md has no heading naming the family measure {name!r}"
    assert any(s.body.strip() for s in found), f"docs/measures.md: the {name!r} section is empty"
    if nhs_id is not None:
        assert any(nhs_id in s.title for s in found), f"{name}: NHS ID {nhs_id} not in its title"
