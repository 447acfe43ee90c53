"""The NHS measure catalogue's settings: code lists and named choices (docs/measures.md §5).

The ``catalogue`` section of a definitions file holds the end-code labels and groups, the
referral-source code lists and every choice the catalogue leaves to the site (``stock_rule``,
the reading of "waiting for assessment"). A site file without the section gets the packaged
default's values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from iaptkit.errors import DefinitionsError

__all__ = ["STOCK_RULES", "CatalogueRules", "parse_catalogue"]

#: The values of ``catalogue.stock_rule`` (docs/measures.md §5.2).
STOCK_RULES: tuple[str, ...] = ("latest", "reporting-month")


@dataclass(frozen=True)
class CatalogueRules:
    """Code lists and choices of the measure families (docs/measures.md §5).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> c = load_definitions().catalogue
    >>> c.stock_rule, c.end_codes["47"][:11]
    ('latest', 'Termination')
    """

    stock_rule: str
    waiting_for_assessment_requires_no_treatment: bool
    end_codes: Mapping[str, str]
    end_code_groups: Mapping[str, tuple[str, ...]]
    referral_sources: Mapping[str, tuple[str, ...]]
    #: IDS602 codes meaning "Long Term Condition" / "No Long Term Condition" (family 8)
    long_term_conditions: tuple[str, ...]
    no_long_term_condition: tuple[str, ...]
    #: WSAS dimension -> CodedAssToolType (family 8)
    wsas_items: Mapping[str, str]
    #: therapy codes of low and high intensity (family 7; IET logs are high intensity)
    low_intensity_therapies: tuple[str, ...]
    high_intensity_therapies: tuple[str, ...]


def _fail(where: str, key: str, expected: str, found: object) -> DefinitionsError:
    return DefinitionsError(
        f"Definitions file {where}: key 'catalogue.{key}' should be {expected}; found {found!r}."
    )


def _value(section: Mapping[str, Any], key: str, where: str) -> Any:
    entry = section.get(key)
    if not isinstance(entry, Mapping) or "value" not in entry:
        raise _fail(where, key, "a {value: ..., source: ...} entry", entry)
    return entry["value"]


def _codes(raw: object, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(where, key, "a non-empty list of codes", raw)
    return tuple(str(c).strip() for c in raw)


def _packaged_section() -> Mapping[str, Any]:
    text = (resources.files("iaptkit.definitions") / "iapt-v2.yaml").read_text(encoding="utf-8")
    section: Mapping[str, Any] = yaml.safe_load(text)["catalogue"]
    return section


def parse_catalogue(raw: object, where: str) -> CatalogueRules:
    """Validate a definitions file's ``catalogue`` section (``None``: the packaged values).

    Examples
    --------
    >>> parse_catalogue(None, "x").waiting_for_assessment_requires_no_treatment
    False
    >>> parse_catalogue({"stock_rule": {"value": "monthly"}}, "site.yaml")
    Traceback (most recent call last):
    iaptkit.errors.DefinitionsError: Definitions file site.yaml: key 'catalogue.stock_rule' ...
    """
    packaged = _packaged_section()
    if raw is None:
        raw = packaged
    if not isinstance(raw, Mapping):
        raise _fail(where, "(section)", "a mapping", raw)
    section = {**packaged, **raw}
    stock = _value(section, "stock_rule", where)
    if stock not in STOCK_RULES:
        raise _fail(where, "stock_rule", "one of " + ", ".join(STOCK_RULES), stock)
    strict_wait = _value(section, "waiting_for_assessment_requires_no_treatment", where)
    if not isinstance(strict_wait, bool):
        raise _fail(
            where, "waiting_for_assessment_requires_no_treatment", "true or false", strict_wait
        )
    labels = _value(section, "end_codes", where)
    if not isinstance(labels, Mapping) or not labels:
        raise _fail(where, "end_codes", "a mapping code -> label", labels)
    groups = _value(section, "end_code_groups", where)
    if not isinstance(groups, Mapping):
        raise _fail(where, "end_code_groups", "a mapping group -> codes", groups)
    sources = _value(section, "referral_sources", where)
    if not isinstance(sources, Mapping) or "self" not in sources:
        raise _fail(where, "referral_sources", "a mapping name -> codes with 'self'", sources)
    wsas = _value(section, "wsas_items", where)
    if not isinstance(wsas, Mapping) or not wsas:
        raise _fail(where, "wsas_items", "a mapping dimension -> tool code", wsas)
    lists = {
        key: _codes(_value(section, key, where), key, where)
        for key in (
            "long_term_conditions",
            "no_long_term_condition",
            "low_intensity_therapies",
            "high_intensity_therapies",
        )
    }
    return CatalogueRules(
        **lists,
        wsas_items=MappingProxyType({str(k): str(v).strip() for k, v in wsas.items()}),
        stock_rule=str(stock),
        waiting_for_assessment_requires_no_treatment=strict_wait,
        end_codes=MappingProxyType({str(k).strip(): str(v) for k, v in labels.items()}),
        end_code_groups=MappingProxyType(
            {str(g): _codes(v, f"end_code_groups.{g}", where) for g, v in groups.items()}
        ),
        referral_sources=MappingProxyType(
            {str(s): _codes(v, f"referral_sources.{s}", where) for s, v in sources.items()}
        ),
    )
