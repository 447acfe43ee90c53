"""iaptkit: NHS Talking Therapies (IAPT v2.x) measures, disclosure control and releases.

The public API is listed in ``__all__``. Names are imported on first use, so ``import iaptkit``
stays fast and pulls in no engine (DuckDB, Spark, papermill) until it is needed.

Examples
--------
>>> import iaptkit
>>> iaptkit.load_policy("nhs-sde").id
'nhs-sde'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iaptkit._version import __version__
from iaptkit.errors import (
    AuditFailedError,
    ConfigError,
    DefinitionsError,
    ExtractError,
    IaptkitError,
    NotebookError,
    PolicyError,
    ReleaseError,
    ValidationError,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from iaptkit.data.extract import Extract
    from iaptkit.data.loading import load_extract
    from iaptkit.data.validation import validate
    from iaptkit.data.validation_report import ValidationReport
    from iaptkit.definitions.loading import load_definitions
    from iaptkit.definitions.model import Definitions
    from iaptkit.measures.derive import derive_pathways, pathway_table
    from iaptkit.measures.published import published_measures
    from iaptkit.measures.reconcile import reconcile
    from iaptkit.notebooks.context import pathway_indicators
    from iaptkit.notebooks.runner import run_grid, run_notebook
    from iaptkit.release.register import Release
    from iaptkit.sdc.derived import protect_measures
    from iaptkit.sdc.policies import Policy, load_policy
    from iaptkit.sdc.protect import protect, protect_linked
    from iaptkit.synth.generate import write_synthetic

__all__ = [
    "AuditFailedError",
    "ConfigError",
    "Definitions",
    "DefinitionsError",
    "Extract",
    "ExtractError",
    "IaptkitError",
    "NotebookError",
    "Policy",
    "PolicyError",
    "Release",
    "ReleaseError",
    "ValidationError",
    "ValidationReport",
    "__version__",
    "derive_pathways",
    "load_definitions",
    "load_extract",
    "load_policy",
    "pathway_indicators",
    "pathway_table",
    "protect",
    "protect_linked",
    "protect_measures",
    "published_measures",
    "reconcile",
    "run_grid",
    "run_notebook",
    "validate",
    "write_synthetic",
]

_LAZY: dict[str, str] = {
    "Extract": "iaptkit.data.extract",
    "load_extract": "iaptkit.data.loading",
    "write_synthetic": "iaptkit.synth.generate",
    "ValidationReport": "iaptkit.data.validation_report",
    "validate": "iaptkit.data.validation",
    "Definitions": "iaptkit.definitions.model",
    "load_definitions": "iaptkit.definitions.loading",
    "derive_pathways": "iaptkit.measures.derive",
    "pathway_table": "iaptkit.measures.derive",
    "published_measures": "iaptkit.measures.published",
    "reconcile": "iaptkit.measures.reconcile",
    "pathway_indicators": "iaptkit.notebooks.context",
    "run_grid": "iaptkit.notebooks.runner",
    "run_notebook": "iaptkit.notebooks.runner",
    "Release": "iaptkit.release.register",
    "Policy": "iaptkit.sdc.policies",
    "load_policy": "iaptkit.sdc.policies",
    "protect": "iaptkit.sdc.protect",
    "protect_linked": "iaptkit.sdc.protect",
    "protect_measures": "iaptkit.sdc.derived",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iaptkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
