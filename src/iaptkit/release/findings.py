"""What the file checks report (:class:`Finding`, :class:`FileReport`) and the policy facts they
apply (:class:`PolicyFacts`, read from a disclosure-control policy by :func:`policy_facts`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iaptkit.errors import ConfigError

__all__ = ["FileReport", "Finding", "PolicyFacts", "policy_facts"]


@dataclass(frozen=True)
class Finding:
    """One problem (or one item for review) in one file.

    Examples
    --------
    >>> Finding("t.csv", "row 2, column n", "small-count", "fail", "count 3").describe()
    'small-count at row 2, column n: count 3'
    """

    file: str
    location: str
    rule: str
    severity: str  # "fail" | "review"
    message: str

    def describe(self) -> str:
        """``rule at location: message``."""
        return f"{self.rule} at {self.location}: {self.message}"


@dataclass(frozen=True)
class FileReport:
    """The findings for one file and its status (worst finding; ``pass`` when none)."""

    file: str
    status: str
    findings: tuple[Finding, ...]
    policy_id: str | None = None
    policy_version: str | None = None


@dataclass(frozen=True)
class PolicyFacts:
    """What the file checks need from a disclosure-control policy."""

    id: str
    version: str
    threshold: int
    zeros_suppressed: bool
    rounding_base: int
    rounding_applies_to: str  # "all" | "sub-national" | "none"

    def suppressed(self, value: int) -> bool:
        """Whether a published count ``value`` lies in the policy's suppressed range."""
        return (0 < value < self.threshold) or (value == 0 and self.zeros_suppressed)


def _get(obj: Any, *paths: str) -> Any:
    for path in paths:
        cur = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
            if cur is None:
                break
        if cur is not None:
            return cur
    return None


def policy_facts(policy: Any) -> PolicyFacts:
    """Read threshold, zeros and rounding from a policy object, id or file.

    Parameters
    ----------
    policy
        A :class:`PolicyFacts`, a policy object or mapping, or a policy id or YAML path (loaded
        with :func:`iaptkit.sdc.load_policy`).

    Returns
    -------
    PolicyFacts
        The facts the file checks apply.

    Notes
    -----
    Policies: docs/disclosure-control.md, "Policies to ship"; loaded with
    :func:`iaptkit.sdc.load_policy`.

    Examples
    --------
    >>> facts = PolicyFacts("x", "1", threshold=10, zeros_suppressed=True, rounding_base=5,
    ...                     rounding_applies_to="all")
    >>> policy_facts(facts).threshold, facts.suppressed(0), facts.suppressed(10)
    (10, True, False)
    """
    if isinstance(policy, PolicyFacts):
        return policy
    if isinstance(policy, str | Path):
        from iaptkit.sdc import load_policy  # the SDC package loads only when a policy is named

        policy = load_policy(policy)
    threshold = _get(policy, "threshold", "suppression.threshold")
    if threshold is None:
        raise ConfigError(f"Expected a policy with a threshold; found {policy!r}.")
    zeros = _get(policy, "zeros_suppressed", "suppress_zeros", "zeros", "suppression.zeros")
    if isinstance(zeros, str):
        zeros = zeros.lower() in ("suppressed", "suppress", "true", "yes")
    base = _get(policy, "rounding_base", "rounding.base") or 1
    applies = _get(policy, "rounding_applies_to", "rounding.applies_to") or "all"
    applies = str(getattr(applies, "value", applies))
    if int(base) <= 1:
        applies = "none"
    return PolicyFacts(
        id=str(_get(policy, "id") or "custom"),
        version=str(_get(policy, "version") or ""),
        threshold=int(threshold),
        zeros_suppressed=bool(zeros),
        rounding_base=int(base),
        rounding_applies_to=applies,
    )
