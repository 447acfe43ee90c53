"""The records of a release: one :class:`Output` per registered output, and its status.

Status rules (docs/disclosure-control.md, "Output checking before export"): a table passes when its
audit passed and its file checks pass; anything unprotected or failing an audit fails; a figure
without its protected data table fails; images and free text are ``review``. An output is
*releasable* when it passes, or is ``review`` with an exception request written by the analyst.

Also here: the structural types of what the register reads from :mod:`iaptkit.sdc` objects
(protected tables, their certificates and policies, model checks), so that the register needs
nothing of the SDC package but these attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import pandas as pd

__all__ = [
    "IMAGE_SUFFIXES",
    "RELEASE_FORMAT",
    "STATUSES",
    "CertificateLike",
    "CheckLike",
    "Output",
    "OutputKind",
    "PolicyLike",
    "ProtectedLike",
    "Status",
    "audit_reason",
    "combine_status",
    "jsonable",
]

RELEASE_FORMAT = "iaptkit-release/1"
STATUSES: tuple[str, ...] = ("pass", "review", "fail")
Status = Literal["pass", "review", "fail"]
OutputKind = Literal["table", "figure", "model", "text", "file"]
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".svg", ".gif"})


class CertificateLike(Protocol):
    """The parts of :class:`iaptkit.sdc.AuditCertificate` the register uses."""

    @property
    def passed(self) -> bool: ...

    def to_dict(self, *, internal: bool = False) -> dict[str, Any]: ...


class PolicyLike(Protocol):
    """The parts of :class:`iaptkit.sdc.Policy` the register records."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...


class ProtectedLike(Protocol):
    """The parts of :class:`iaptkit.sdc.ProtectedTable` the register uses (read-only)."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> tuple[str, ...]: ...

    @property
    def policy(self) -> Any: ...

    @property
    def population(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def cells(self) -> pd.DataFrame: ...

    @property
    def certificate(self) -> Any: ...

    @property
    def audit_passed(self) -> bool: ...

    def published_long(self) -> pd.DataFrame: ...

    def underlying(self) -> pd.DataFrame: ...


class CheckLike(Protocol):
    """The parts of :class:`iaptkit.sdc.checks.CheckResult` the register uses."""

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


def combine_status(statuses: Sequence[str]) -> Status:
    """The worst of several statuses: ``fail`` > ``review`` > ``pass``.

    Notes
    -----
    Status rules: docs/disclosure-control.md, "Output checking before export".

    Examples
    --------
    >>> combine_status(["pass", "review"])
    'review'
    >>> combine_status([])
    'pass'
    """
    if "fail" in statuses:
        return "fail"
    if "review" in statuses:
        return "review"
    return "pass"


def audit_reason(certificate: CertificateLike) -> str:
    """Why an audit failed, without naming cells or bounds (they can reveal true values).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> audit_reason(NS(passed=False, to_dict=dict, failures=lambda: (1, 2)))
    "audit failed: 2 cell(s) not protected (cells and intervals in the checker's report)"
    """
    failures = getattr(certificate, "failures", None)
    count = f"{len(failures())} cell(s) " if callable(failures) else ""
    return f"audit failed: {count}not protected (cells and intervals in the checker's report)"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (anything else as its ``str``).

    Examples
    --------
    >>> from pathlib import PurePosixPath
    >>> jsonable({"p": PurePosixPath("a/b"), "n": (1, 2)})
    {'p': 'a/b', 'n': [1, 2]}
    """
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class Output:
    """One registered output and everything the checker needs to judge it.

    ``files`` are names inside ``RELEASE_DIR/outputs/`` (the export view) with their sha256 at
    registration; ``internal_files`` are inside ``RELEASE_DIR/internal/`` and never exported.
    ``run`` is the notebook run that made it (``Release.start_run``), empty outside one.

    Examples
    --------
    >>> out = Output(uid="t", kind="text", name="t", description="", exception="Words only.")
    >>> out.releasable, Output.from_json(out.to_json()) == out
    (True, True)
    """

    uid: str
    kind: str
    name: str
    description: str
    population: str = ""
    denominators: tuple[str, ...] = ()
    policy_id: str | None = None
    policy_version: str | None = None
    definitions_version: str | None = None
    made_by: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    status: str = "review"
    reasons: tuple[str, ...] = ()
    exception: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    internal_files: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    audit: Mapping[str, Any] | None = None
    n: int | None = None
    df_resid: float | None = None
    created: str = ""
    run: str = ""

    @property
    def releasable(self) -> bool:
        """``pass``, or ``review`` with an exception request written by the analyst."""
        return self.status == "pass" or (
            self.status == "review" and bool((self.exception or "").strip())
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (the form stored in ``release.json``)."""
        data = asdict(self)
        data["parameters"] = jsonable(dict(self.parameters))
        data["files"] = dict(self.files)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Output:
        """Rebuild an output from its ``release.json`` form."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("denominators", "reasons", "internal_files", "dims"):
            kwargs[key] = tuple(kwargs.get(key) or ())
        return cls(**kwargs)
