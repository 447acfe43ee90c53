"""Disclosure-control policies: packaged, commented YAML loaded into a frozen :class:`Policy`.

A policy is data: a file a TRE administrator can read and edit (each value's meaning and source
are in its comments), versioned, and named on every protected output. iaptkit ships five
(``nhs-sde`` the default, ``nhs-talking-therapies``, ``nhs-hes``, ``opensafely``, ``sdap``);
a site's own policy is loaded from a path. There are no module-level settings: the policy is
passed explicitly to every function that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from iaptkit.errors import PolicyError

__all__ = ["BUILTIN_POLICIES", "Policy", "available_policies", "load_policy"]

#: Ids of the policies shipped with iaptkit (files ``iaptkit/sdc/policies/<id>.yaml``).
BUILTIN_POLICIES: tuple[str, ...] = (
    "nhs-sde",
    "nhs-talking-therapies",
    "nhs-hes",
    "opensafely",
    "sdap",
)

_ROUNDING_SCOPES = frozenset({"all", "sub-national", "none"})
_MARGIN_RULES = frozenset({"rounded", "sum_of_rounded"})
_RATE_SOURCES = frozenset({"published", "rounded", "unrounded"})
_ZEROS = frozenset({"suppressed", "shown"})


@dataclass(frozen=True)
class Policy:
    """A disclosure-control policy (immutable).

    Attributes
    ----------
    id, version, title, source
        Identity, printed on every output, and the published rule set it follows.
    threshold
        Counts of 1 .. ``threshold - 1`` are suppressed (``*``).
    zeros_suppressed
        Whether a zero count is suppressed with the small counts (else shown as ``0``).
    protection_width
        Minimum width of the attacker's feasible interval of a suppressed primary cell.
    rounding_base
        Published counts are rounded to a multiple of this, halves up (1 = no rounding).
    rounding_applies_to
        ``"all"``, ``"sub-national"`` (national counts unrounded) or ``"none"``.
    midpoint6_allowed
        Whether ``rounding="midpoint6"`` may be asked for (OpenSAFELY).
    margins
        ``"rounded"`` (each total rounded from its own true value) or ``"sum_of_rounded"``.
    rates_from
        How rates and their limits are made (:mod:`iaptkit.sdc.rates`): ``"published"`` (from
        the counts as published: rounded where rounded, exact where exact), ``"rounded"`` (the
        same, for policies that round every count) or ``"unrounded"`` (from the true counts;
        the integer audit with rates then refuses an output they give away).
    rate_decimals_national, rate_decimals_subnational
        Decimal places of published rates (per cent).
    min_contributors
        Contributors a mean/median needs.
    dominance_n, dominance_k, p_percent, min_residual_df
        Magnitude and regression rules; ``None`` when not part of the policy.
    path
        Where the policy was loaded from.
    """

    id: str
    version: str
    title: str
    source: str
    threshold: int
    zeros_suppressed: bool
    protection_width: int
    rounding_base: int
    rounding_applies_to: str
    midpoint6_allowed: bool
    margins: str
    rates_from: str
    rate_decimals_national: int
    rate_decimals_subnational: int
    min_contributors: int
    dominance_n: int | None
    dominance_k: float | None
    p_percent: float | None
    min_residual_df: int | None
    path: str = ""

    @property
    def rounds(self) -> bool:
        """Whether the policy rounds any count."""
        return self.rounding_base > 1 and self.rounding_applies_to != "none"

    def rounds_cell(self, *, national: bool) -> bool:
        """Whether a (national or sub-national) count is rounded under this policy."""
        if not self.rounds:
            return False
        return not (national and self.rounding_applies_to == "sub-national")

    def to_dict(self) -> dict[str, Any]:
        """The policy as a JSON-safe dict (for certificates and release metadata)."""
        return asdict(self)

    def describe(self) -> str:
        """One line an output checker can read, e.g. for a report header."""
        zeros = "zeros suppressed" if self.zeros_suppressed else "zeros shown"
        rounding = (
            f"{self.rounding_applies_to} counts rounded to the nearest {self.rounding_base} "
            "(halves up)"
            if self.rounds
            else "no rounding"
        )
        return (
            f"{self.id} v{self.version}: counts 1-{self.threshold - 1} suppressed, {zeros}, "
            f"{rounding}"
        )


def available_policies() -> tuple[str, ...]:
    """Ids of the policies shipped with iaptkit.

    Returns
    -------
    tuple of str

    Notes
    -----
    The five policies of ``docs/disclosure-control.md`` ("Policies to ship").

    Examples
    --------
    >>> "nhs-sde" in available_policies()
    True
    """
    return BUILTIN_POLICIES


def load_policy(id_or_path: str | Path | Policy = "nhs-sde") -> Policy:
    """Load a packaged policy by id, or a site's own policy from a YAML file.

    Parameters
    ----------
    id_or_path
        A packaged policy id (see :data:`BUILTIN_POLICIES`), a path to a policy YAML file, or a
        :class:`Policy` (returned unchanged).

    Returns
    -------
    Policy
        Frozen; carries ``id`` and ``version`` for every output made under it.

    Raises
    ------
    PolicyError
        Unknown id, unreadable file, or a value missing or of the wrong kind (the message names
        the file, the key, what was expected and what was found).

    Notes
    -----
    Values and sources: ``docs/disclosure-control.md`` ("Policies to ship"). Rounding
    "to the nearest 5" rounds halves up (13 -> 15, 12 -> 10).

    Examples
    --------
    >>> p = load_policy("nhs-talking-therapies")
    >>> p.threshold, p.rounding_base, p.rounds_cell(national=True)
    (5, 5, False)
    >>> load_policy().id
    'nhs-sde'
    """
    if isinstance(id_or_path, Policy):
        return id_or_path
    text, where = _read_policy_text(id_or_path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"Policy file {where} is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise PolicyError(
            f"Policy file {where}: expected a mapping of keys (id, version, suppression, ...), "
            f"found {type(raw).__name__}."
        )
    return _policy_from_mapping(raw, where)


def _read_policy_text(id_or_path: str | Path) -> tuple[str, str]:
    """Return (YAML text, description of where it came from)."""
    text_id = str(id_or_path)
    if isinstance(id_or_path, str) and text_id in BUILTIN_POLICIES:
        res = resources.files("iaptkit.sdc").joinpath("policies", f"{text_id}.yaml")
        return res.read_text(encoding="utf-8"), f"iaptkit/sdc/policies/{text_id}.yaml"
    path = Path(id_or_path)
    looks_like_path = (
        isinstance(id_or_path, Path) or path.suffix in {".yaml", ".yml"} or "/" in text_id
    )
    if not looks_like_path:
        raise PolicyError(
            f"Unknown policy {text_id!r}: expected one of {', '.join(BUILTIN_POLICIES)} "
            "or the path of a policy YAML file."
        )
    if not path.is_file():
        raise PolicyError(f"Policy file {path} not found (expected a YAML file).")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"Policy file {path} cannot be read: {exc}") from None


def _get(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if required:
                raise PolicyError(f"Policy file {where}: key {key!r} is missing.")
            return None
        node = node[part]
    return node


def _int(
    raw: Mapping[str, Any],
    key: str,
    where: str,
    *,
    minimum: int,
    required: bool = True,
    default: int | None = None,
) -> int | None:
    value = _get(raw, key, where, required=required)
    if value is None:
        if required and default is None:
            raise PolicyError(
                f"Policy file {where}: key {key!r} expected a whole number, found null."
            )
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(
            f"Policy file {where}: key {key!r} expected a whole number >= {minimum}, "
            f"found {value!r}."
        )
    return value


def _number(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = _get(raw, key, where, required=False)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PolicyError(
            f"Policy file {where}: key {key!r} expected a number >= 0 or null, found {value!r}."
        )
    return float(value)


def _choice(raw: Mapping[str, Any], key: str, where: str, choices: frozenset[str]) -> str:
    value = _get(raw, key, where)
    if not isinstance(value, str) or value not in choices:
        raise PolicyError(
            f"Policy file {where}: key {key!r} expected one of {', '.join(sorted(choices))}, "
            f"found {value!r}."
        )
    return value


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = _get(raw, key, where)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"Policy file {where}: key {key!r} expected text, found {value!r}.")
    return value.strip()


def _policy_from_mapping(raw: Mapping[str, Any], where: str) -> Policy:
    threshold = _int(raw, "suppression.threshold", where, minimum=1)
    assert threshold is not None
    width = _int(
        raw, "suppression.protection_width", where, minimum=1, required=False, default=threshold
    )
    base = _int(raw, "rounding.base", where, minimum=1)
    applies = _choice(raw, "rounding.applies_to", where, _ROUNDING_SCOPES)
    mid6 = _get(raw, "rounding.midpoint6_allowed", where, required=False)
    if mid6 is not None and not isinstance(mid6, bool):
        raise PolicyError(
            f"Policy file {where}: key 'rounding.midpoint6_allowed' expected true or false, "
            f"found {mid6!r}."
        )
    dec_nat = _int(raw, "rates.decimals_national", where, minimum=0, required=False, default=1)
    dec_sub = _int(raw, "rates.decimals_subnational", where, minimum=0, required=False, default=1)
    min_contrib = _int(
        raw, "statistics.min_contributors", where, minimum=1, required=False, default=threshold
    )
    if None in (width, base, dec_nat, dec_sub, min_contrib):  # pragma: no cover - defaults set
        raise PolicyError(f"Policy file {where}: incomplete policy.")
    assert width is not None
    assert base is not None
    assert dec_nat is not None
    assert dec_sub is not None
    assert min_contrib is not None
    return Policy(
        id=_text(raw, "id", where),
        version=_text(raw, "version", where),
        title=_text(raw, "title", where),
        source=_text(raw, "source", where),
        threshold=threshold,
        zeros_suppressed=_choice(raw, "suppression.zeros", where, _ZEROS) == "suppressed",
        protection_width=width,
        rounding_base=base,
        rounding_applies_to=applies,
        midpoint6_allowed=bool(mid6),
        margins=_choice(raw, "margins", where, _MARGIN_RULES),
        rates_from=_choice(raw, "rates.from_counts", where, _RATE_SOURCES),
        rate_decimals_national=dec_nat,
        rate_decimals_subnational=dec_sub,
        min_contributors=min_contrib,
        dominance_n=_int(raw, "statistics.dominance_n", where, minimum=1, required=False),
        dominance_k=_number(raw, "statistics.dominance_k", where),
        p_percent=_number(raw, "statistics.p_percent", where),
        min_residual_df=_int(raw, "statistics.min_residual_df", where, minimum=0, required=False),
        path=where,
    )
