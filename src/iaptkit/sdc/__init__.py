"""Statistical disclosure control: policies, protection of count tables, and the audit.

The public API: :func:`load_policy` / :class:`Policy` (packaged, versioned policies),
:func:`protect` and :func:`protect_linked` (suppression, rounding, secondary suppression and
the attacker audit of one table or of linked tables), :class:`ProtectedTable`,
:func:`audit_release` (joint audit across the outputs of a release) and
:func:`protect_measures` (the published measures long table).
"""

from __future__ import annotations

from iaptkit.sdc.audit import AuditCertificate, CellInterval
from iaptkit.sdc.derived import ProtectedMeasures, protect_measures
from iaptkit.sdc.policies import Policy, available_policies, load_policy
from iaptkit.sdc.protect import (
    ProtectedTable,
    TableRequest,
    audit_release,
    protect,
    protect_linked,
)

__all__ = [
    "AuditCertificate",
    "CellInterval",
    "Policy",
    "ProtectedMeasures",
    "ProtectedTable",
    "TableRequest",
    "audit_release",
    "available_policies",
    "load_policy",
    "protect",
    "protect_linked",
    "protect_measures",
]
