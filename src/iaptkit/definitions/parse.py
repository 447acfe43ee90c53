"""Parsing and validation of a measure definitions YAML into :mod:`iaptkit.definitions.model`.

Every problem raises :class:`~iaptkit.errors.DefinitionsError` naming the file, the key, what was
expected and what was found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from iaptkit.definitions.catalogue_rules import parse_catalogue
from iaptkit.definitions.model import (
    IDS603_TIEBREAK_KEYS,
    AgeBand,
    BreakdownRules,
    ContactRules,
    Definitions,
    ProblemRule,
    ProblemRules,
    ScoreMeasure,
    ScoreRules,
    normalise_code,
)
from iaptkit.errors import DefinitionsError

__all__ = ["parse_definitions"]

_OPERATORS = (">=", ">")
_SAME_DAY_RULES = ("highest", "lowest")
#: The values of ``scores.adsm_fields`` (docs/measures.md §5.12).
_ADSM_FIELDS = ("mapped", "used")


# --------------------------------------------------------------------------- loading


class _Reader:
    """Typed access into the parsed YAML with DefinitionsError messages naming the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, expected: str, found: object) -> DefinitionsError:
        return DefinitionsError(
            f"Definitions file {self.where}: key '{key}' should be {expected}; found {found!r}."
        )

    def mapping(self, obj: object, key: str) -> Mapping[str, Any]:
        if not isinstance(obj, Mapping):
            raise self.fail(key, "a mapping", obj)
        return obj

    def get(self, obj: Mapping[str, Any], name: str, key: str) -> Any:
        if name not in obj:
            raise self.fail(f"{key}.{name}" if key else name, "present", "nothing (missing)")
        return obj[name]

    def setting(self, section: Mapping[str, Any], name: str, key: str) -> Any:
        """A ``{value: ..., source: ...}`` entry; returns the value."""
        entry = self.mapping(self.get(section, name, key), f"{key}.{name}")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail(f"{key}.{name}.source", "a non-empty text naming the source", source)
        return self.get(entry, "value", f"{key}.{name}")

    def text(self, obj: object, key: str) -> str:
        if not isinstance(obj, str) or not obj.strip():
            raise self.fail(key, "a non-empty text", obj)
        return obj

    def texts(self, obj: object, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        if not isinstance(obj, list) or (not obj and not allow_empty):
            raise self.fail(key, "a list of texts", obj)
        out = []
        for i, item in enumerate(obj):
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise self.fail(f"{key}[{i}]", 'a text (quote codes, e.g. "02")', item)
            out.append(str(item).strip())
        return tuple(out)

    def integer(self, obj: object, key: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise self.fail(key, "a whole number", obj)
        return obj

    def boolean(self, obj: object, key: str) -> bool:
        if not isinstance(obj, bool):
            raise self.fail(key, "true or false", obj)
        return obj

    def decimal(self, obj: object, key: str, *, optional: bool = False) -> Decimal | None:
        if obj is None and optional:
            return None
        if isinstance(obj, bool) or not isinstance(obj, str | int):
            raise self.fail(key, 'a decimal number written as quoted text, e.g. "2.3"', obj)
        try:
            value = Decimal(str(obj).strip())
        except InvalidOperation:
            raise self.fail(key, "a decimal number", obj) from None
        if not value.is_finite():
            raise self.fail(key, "a finite decimal number", obj)
        return value

    def choice(self, obj: object, key: str, allowed: tuple[str, ...]) -> str:
        if obj not in allowed:
            raise self.fail(key, "one of " + ", ".join(repr(a) for a in allowed), obj)
        return str(obj)


def _measure(r: _Reader, key: str, raw: object, strict: bool) -> ScoreMeasure:
    where = f"measures.{key}"
    m = r.mapping(raw, where)
    rng = r.get(m, "valid_range", where)
    if not isinstance(rng, list) or len(rng) != 2:
        raise r.fail(f"{where}.valid_range", "a list [min, max]", rng)
    lo = r.decimal(rng[0], f"{where}.valid_range[0]")
    hi = r.decimal(rng[1], f"{where}.valid_range[1]")
    assert lo is not None
    assert hi is not None
    if lo > hi:
        raise r.fail(f"{where}.valid_range", "min <= max", rng)
    # whole-number scores unless the range is written with decimals ("1.00"), or as set
    spelled_whole = all(_exponent(v) >= 0 for v in (lo, hi))
    whole = r.boolean(m.get("whole_numbers", spelled_whole), f"{where}.whole_numbers")
    parts = []
    for part in ("case", "reliable_change"):
        p = r.mapping(r.get(m, part, where), f"{where}.{part}")
        threshold = r.decimal(
            r.get(p, "threshold", f"{where}.{part}"), f"{where}.{part}.threshold", optional=True
        )
        op = r.choice(
            r.get(p, "operator", f"{where}.{part}"), f"{where}.{part}.operator", _OPERATORS
        )
        # an operator NHS prints explicitly (PCL-5 ">= 32") is never flipped by the switch
        explicit = r.boolean(p.get("explicit", False), f"{where}.{part}.explicit")
        parts.append((threshold, ">" if strict and not explicit else op))
    return ScoreMeasure(
        key=key,
        name=r.text(r.get(m, "name", where), f"{where}.name"),
        tool_codes=r.texts(r.get(m, "tool_codes", where), f"{where}.tool_codes"),
        valid_min=lo,
        valid_max=hi,
        case_threshold=parts[0][0],
        case_operator=parts[0][1],
        rc_threshold=parts[1][0],
        rc_operator=parts[1][1],
        source=r.text(r.get(m, "source", where), f"{where}.source"),
        whole_numbers=whole,
    )


def _problems(r: _Reader, sec: Mapping[str, Any], measures: Mapping[str, Any]) -> ProblemRules:
    k = "problem_descriptors"
    tiebreak = r.texts(r.setting(sec, "ids603_tiebreak", k), f"{k}.ids603_tiebreak")
    for i, t in enumerate(tiebreak):
        r.choice(t, f"{k}.ids603_tiebreak[{i}]", IDS603_TIEBREAK_KEYS)
    if len(set(tiebreak)) != len(tiebreak):
        raise r.fail(f"{k}.ids603_tiebreak", "keys without repetition", list(tiebreak))
    raw_rules = r.get(sec, "rules", k)
    if not isinstance(raw_rules, list) or not raw_rules:
        raise r.fail(f"{k}.rules", "a non-empty list of rules", raw_rules)
    rules = []
    for i, raw in enumerate(raw_rules):
        w = f"{k}.rules[{i}]"
        rule = r.mapping(raw, w)
        adsm = rule.get("adsm")
        if adsm is not None and adsm not in measures:
            raise r.fail(f"{w}.adsm", "null or a key of 'measures'", adsm)
        prefixes = r.texts(r.get(rule, "prefixes", w), f"{w}.prefixes", allow_empty=True)
        codes = r.texts(r.get(rule, "codes", w), f"{w}.codes", allow_empty=True)
        if not prefixes and not codes:
            raise r.fail(w, "at least one prefix or code", rule)
        rules.append(
            ProblemRule(
                category=r.text(r.get(rule, "category", w), f"{w}.category"),
                prefixes=tuple(normalise_code(p) for p in prefixes),
                codes=tuple(normalise_code(c) for c in codes),
                adsm=adsm,
                source=r.text(r.get(rule, "source", w), f"{w}.source"),
            )
        )
    valid: tuple[str, ...] = ()
    if "valid_codes" in sec:
        valid = tuple(r.texts(r.setting(sec, "valid_codes", k), f"{k}.valid_codes"))
        for i, pattern in enumerate(valid):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise r.fail(f"{k}.valid_codes[{i}]", "a regular expression", pattern) from exc
    return ProblemRules(
        valid_codes=valid,
        ids603_tiebreak=tiebreak,
        unspecified=r.text(r.setting(sec, "unspecified", k), f"{k}.unspecified"),
        other=r.text(r.setting(sec, "other", k), f"{k}.other"),
        rules=tuple(rules),
    )


def _breakdowns(r: _Reader, sec: Mapping[str, Any]) -> BreakdownRules:
    k = "breakdowns"
    bands_raw = r.setting(sec, "age_bands", k)
    if not isinstance(bands_raw, list) or not bands_raw:
        raise r.fail(f"{k}.age_bands", "a non-empty list of {label, min, max}", bands_raw)
    bands = []
    for i, b in enumerate(bands_raw):
        w = f"{k}.age_bands[{i}]"
        band = r.mapping(b, w)
        hi_raw = r.get(band, "max", w)
        bands.append(
            AgeBand(
                label=r.text(r.get(band, "label", w), f"{w}.label"),
                minimum=r.integer(r.get(band, "min", w), f"{w}.min"),
                maximum=None if hi_raw is None else r.integer(hi_raw, f"{w}.max"),
            )
        )
    gender_raw = r.mapping(r.setting(sec, "gender", k), f"{k}.gender")
    ethnic_raw = r.mapping(r.setting(sec, "ethnic_groups", k), f"{k}.ethnic_groups")
    imd = r.setting(sec, "imd_deciles", k)
    if not isinstance(imd, list) or len(imd) != 2:
        raise r.fail(f"{k}.imd_deciles", "a list [min, max]", imd)
    # optional settings (docs/measures.md §5.11): a file without them keeps the defaults
    age_at = r.setting(sec, "age_at", k) if "age_at" in sec else "referral"
    if age_at not in ("referral", "period-end"):
        raise r.fail(f"{k}.age_at", "referral or period-end", age_at)
    labels = None
    if "imd_labels" in sec:
        raw = r.mapping(r.setting(sec, "imd_labels", k), f"{k}.imd_labels")
        labels = MappingProxyType(
            {str(d).strip(): r.text(v, f"{k}.imd_labels.{d}") for d, v in raw.items()}
        )
    return BreakdownRules(
        age_at=str(age_at),
        imd_labels=labels,
        unknown=r.text(r.setting(sec, "unknown", k), f"{k}.unknown"),
        age_bands=tuple(bands),
        age_unknown=r.text(r.setting(sec, "age_unknown", k), f"{k}.age_unknown"),
        gender=MappingProxyType(
            {str(c).strip(): r.text(v, f"{k}.gender.{c}") for c, v in gender_raw.items()}
        ),
        gender_other=r.text(r.setting(sec, "gender_other", k), f"{k}.gender_other"),
        ethnic_groups=MappingProxyType(
            {str(g): r.texts(v, f"{k}.ethnic_groups.{g}") for g, v in ethnic_raw.items()}
        ),
        ethnic_other=r.text(r.setting(sec, "ethnic_other", k), f"{k}.ethnic_other"),
        imd_min=r.integer(imd[0], f"{k}.imd_deciles[0]"),
        imd_max=r.integer(imd[1], f"{k}.imd_deciles[1]"),
        imd_unknown=r.text(r.setting(sec, "imd_unknown", k), f"{k}.imd_unknown"),
    )


def parse_definitions(raw: object, where: str) -> Definitions:
    """Validate parsed YAML ``raw`` (read from ``where``) into :class:`Definitions`."""
    r = _Reader(where)
    top = r.mapping(raw, "(top level)")
    version = r.get(top, "version", "")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        raise r.fail("version", "a version text", version)
    title = r.text(top.get("title", "measure definitions"), "title")

    c = r.mapping(r.get(top, "contacts", ""), "contacts")
    contacts = ContactRules(
        attended_codes=r.texts(
            r.setting(c, "attended_codes", "contacts"), "contacts.attended_codes"
        ),
        unplanned_indicator=r.text(
            r.setting(c, "unplanned_indicator", "contacts"), "contacts.unplanned_indicator"
        ).strip(),
        treatment_app_types=r.texts(
            r.setting(c, "treatment_app_types", "contacts"), "contacts.treatment_app_types"
        ),
        assessment_app_types=r.texts(
            r.setting(c, "assessment_app_types", "contacts"), "contacts.assessment_app_types"
        ),
        employment_support_codes=r.texts(
            r.setting(c, "employment_support_codes", "contacts"),
            "contacts.employment_support_codes",
            allow_empty=True,
        ),
        exclude_employment_support_only=r.boolean(
            r.setting(c, "exclude_employment_support_only", "contacts"),
            "contacts.exclude_employment_support_only",
        ),
        iet_min_duration_exclusive=r.integer(
            r.setting(c, "iet_min_duration_exclusive", "contacts"),
            "contacts.iet_min_duration_exclusive",
        ),
        min_treatment_sessions=r.integer(
            r.setting(c, "min_treatment_sessions", "contacts"), "contacts.min_treatment_sessions"
        ),
    )
    if contacts.min_treatment_sessions < 1:
        raise r.fail(
            "contacts.min_treatment_sessions",
            "a whole number >= 1",
            contacts.min_treatment_sessions,
        )

    s = r.mapping(r.get(top, "scores", ""), "scores")
    strict = r.boolean(r.setting(s, "strict_comparison", "scores"), "scores.strict_comparison")
    ms = r.mapping(r.get(top, "measures", ""), "measures")
    measures = {str(k): _measure(r, str(k), v, strict) for k, v in ms.items()}
    seen: dict[str, str] = {}
    for m in measures.values():
        for code in m.tool_codes:
            if code in seen:
                raise r.fail(
                    f"measures.{m.key}.tool_codes", f"codes not used by {seen[code]}", code
                )
            seen[code] = m.key
    scores = ScoreRules(
        same_day_rule=r.choice(
            r.setting(s, "same_day_rule", "scores"), "scores.same_day_rule", _SAME_DAY_RULES
        ),
        strict_comparison=strict,
        min_paired_days=r.integer(
            r.setting(s, "min_paired_days", "scores"), "scores.min_paired_days"
        ),
        depression_measure=r.choice(
            r.setting(s, "depression_measure", "scores"),
            "scores.depression_measure",
            tuple(measures),
        ),
        default_anxiety_measure=r.choice(
            r.setting(s, "default_anxiety_measure", "scores"),
            "scores.default_anxiety_measure",
            tuple(measures),
        ),
        adsm_fields=(
            r.choice(r.setting(s, "adsm_fields", "scores"), "scores.adsm_fields", _ADSM_FIELDS)
            if "adsm_fields" in s
            else "mapped"
        ),
    )
    for key in (scores.depression_measure, scores.default_anxiety_measure):
        if not measures[key].thresholds_published:
            raise r.fail(f"measures.{key}", "published case and reliable-change thresholds", None)
    if scores.min_paired_days < 2:
        raise r.fail("scores.min_paired_days", "a whole number >= 2", scores.min_paired_days)

    problems = _problems(
        r, r.mapping(r.get(top, "problem_descriptors", ""), "problem_descriptors"), measures
    )
    breakdowns = _breakdowns(r, r.mapping(r.get(top, "breakdowns", ""), "breakdowns"))
    p = r.mapping(r.get(top, "published", ""), "published")
    waits_raw = r.setting(p, "wait_thresholds_days", "published")
    if not isinstance(waits_raw, list) or not waits_raw:
        raise r.fail("published.wait_thresholds_days", "a list of whole numbers", waits_raw)
    waits = tuple(
        r.integer(w, f"published.wait_thresholds_days[{i}]") for i, w in enumerate(waits_raw)
    )
    return Definitions(
        version=str(version),
        title=title,
        path=where,
        measures=MappingProxyType(measures),
        contacts=contacts,
        scores=scores,
        problems=problems,
        breakdowns=breakdowns,
        wait_thresholds_days=waits,
        first_to_second_max_days=r.integer(
            r.setting(p, "first_to_second_max_days", "published"),
            "published.first_to_second_max_days",
        ),
        catalogue=parse_catalogue(top.get("catalogue"), where),
    )


def _exponent(value: Decimal) -> int:
    """The decimal exponent as written: ``Decimal("27")`` -> 0, ``Decimal("5.00")`` -> -2."""
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0
